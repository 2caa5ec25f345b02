"""Views: connect (being built)."""
urlpatterns = []
