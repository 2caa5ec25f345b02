"""The HTTP client for Keap's OAuth and REST v2.

No models, no views: it takes tokens and callbacks and classifies every response into the small
set of errors in `errors`. Everything above it (the services) decides what a failure means for an
account or a form.
"""
