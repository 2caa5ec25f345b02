"""Views: accounts (being built)."""
urlpatterns = []
