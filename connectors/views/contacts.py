"""Views: contacts (being built)."""
urlpatterns = []
