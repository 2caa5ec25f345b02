"""Staff only: every page of keapconnect needs a signed-in staff member.

SignInRequiredMiddleware (Django's LoginRequiredMiddleware) sends anonymous people to the sign-in
page, keeping a contact form they sent; StaffRequiredMiddleware, after it, answers 403 to signed-in
people who are not staff. Views marked with `django.contrib.auth.decorators.login_not_required`
(the sign-in page, the admin's own login) stay open. MethodNotAllowedPageMiddleware gives Django's
empty 405 a page.
"""

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.shortcuts import render

from .forms import contact_form_initial_from

UNSENT_CONTACT = "keapconnect-unsent-contact"  # session key


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, keeping a contact form sent after the session ended.

    Signed out in another tab, or timed out, the person's Send used to lose the entry on the way
    through the sign-in page. What was typed is kept in the new session, which Django carries
    over on sign-in, and the contact form shows it again to the same user (`unsent_contact_pop`).
    """

    def handle_no_permission(self, request, view_func):
        unsent_contact_keep(request)
        return super().handle_no_permission(request, view_func)


def unsent_contact_keep(request) -> bool:
    """Keep what a POST of the contact form holds, for the form to show again; False if it is not one.

    For a form that could not be taken: sent after the session ended (SignInRequiredMiddleware), or
    from a page whose CSRF token went stale because its user signed in again (views.csrf).
    """
    match = request.resolver_match
    if request.method != "POST" or match is None or match.view_name != "connectors:contact_new":
        return False
    request.session[UNSENT_CONTACT] = {
        "entered_by": request.POST.get("_entered_by", ""),
        "initial": contact_form_initial_from(request.POST),
    }
    return True


def unsent_contact_pop(request) -> dict | None:
    """The `initial` of a contact form this user sent but that was not taken, once; else None."""
    unsent = request.session.pop(UNSENT_CONTACT, None)
    if unsent and unsent.get("entered_by") == request.user.get_username():
        return unsent["initial"]
    return None


class StaffRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        user = request.user
        if user.is_authenticated and not user.is_staff:
            # The 403 page itself (not PermissionDenied): Django logs one line, not a traceback.
            return render(request, "403.html", status=403)
        return None


class MethodNotAllowedPageMiddleware:
    """Django's 405 (an action's address opened as a link) has an empty body: give it the 405 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
            page = render(request, "405.html", status=405)
            page["Allow"] = response.get("Allow", "")
            return page
        return response
