from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import TemplateView


class SignOutView(auth_views.LogoutView):
    """POST signs out (as Django's); a GET, e.g. a typed address, asks first instead of a blank 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return TemplateView.as_view(template_name="registration/logout_confirm.html")(request)


urlpatterns = [
    path("signin/", auth_views.LoginView.as_view(), name="login"),
    # Open to everyone signed in, staff or not (a non-staff member must be able to leave).
    path("signout/", login_not_required(SignOutView.as_view()), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("connectors.urls")),
]
