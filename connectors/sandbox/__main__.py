"""`python -m connectors.sandbox [--host H] [--port P] [--access-token-ttl S]`."""

from .server import main

if __name__ == "__main__":
    main()
