from django.urls import path

from .views import accounts, connect, contacts, home

app_name = "connectors"

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    *connect.urlpatterns,
    *accounts.urlpatterns,
    *contacts.urlpatterns,
]
