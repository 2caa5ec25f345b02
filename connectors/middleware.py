"""Staff only: every page of keapconnect needs a signed-in staff member.

Django's LoginRequiredMiddleware (before this one) sends anonymous people to the sign-in page;
this one answers 403 to signed-in people who are not staff. Views marked with
`django.contrib.auth.decorators.login_not_required` (the sign-in page, the admin's own login)
stay open.
"""

from django.core.exceptions import PermissionDenied


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
            raise PermissionDenied("keapconnect is for staff members only.")
        return None
