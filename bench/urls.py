from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    """Does nothing but answer: what the framework alone costs a signed-in staff member's page."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), path("", include("keapconnect.urls"))]
