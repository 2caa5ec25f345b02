"""Views: the staff contact form, its province list, the sent contacts and their retry, lookups refresh.

Thin: parse input, call a form, a service or a selector, render. Every Keap call happens in
`connectors.lookups` or `connectors.services.contacts`.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from .. import lookups, selectors
from ..errors import AccountUnavailable, ConnectorError, KeapRejected, ReconnectNeeded, TryAgainLater
from ..forms import ContactForm, ContactFormPage, contact_form_initial_from
from ..middleware import unsent_contact_pop
from ..models import ContactUpsert
from ..places import country_name, region_label
from ..services.contacts import (
    contact_upsert,
    contact_upsert_can_retry,
    contact_upsert_message,
    contact_upsert_retry,
)

FORM_TEMPLATE = "connectors/contacts/form.html"


def contact_new(request):
    """GET: an empty form (`?account=<pk>` preselects). POST: send it, or (`_refresh`) reload its lists."""
    if request.method != "POST":
        unsent = unsent_contact_pop(request)
        if unsent:  # posted while signed out (middleware.SignInRequiredMiddleware)
            messages.warning(
                request,
                "Nothing was sent: you were signed out, or signed in again in another tab, after this "
                "form was opened. What you typed is back in the form.",
            )
            return _form_page(request, ContactFormPage(initial=unsent))
        initial = {"account": request.GET["account"]} if request.GET.get("account") else {}
        return _form_page(request, ContactFormPage(initial=initial))
    if "_refresh" in request.POST:
        # No upsert: the page comes back with everything typed, and the lists of the chosen account
        # and country ("lookups": read from Keap again first).
        account = selectors.connected_account_get_or_none(pk=request.POST.get("account"))
        initial = contact_form_initial_from(request.POST)
        if request.POST["_refresh"] == "lookups":
            _lookups_refresh(request, account)
        elif request.POST["_refresh"] == "account" and initial.get("tag_ids"):
            # Tag ids are per Keap account (the same id may name another tag there): never carried over.
            initial["tag_ids"] = []
            if account is not None:
                messages.info(request, f"Tags belong to each Keap account: tick them again for {account}.")
        return _form_page(request, ContactFormPage(initial=initial))
    form = ContactForm(data=request.POST)
    if not form.is_valid():
        return _form_page(request, ContactFormPage(form))
    data = form.cleaned_data
    try:
        result = contact_upsert(
            account=data["account"],
            contact=form.contact_input(),
            duplicate_option=data["duplicate_option"],
            tag_ids=data["tag_ids"],
            performed_by=request.user,
            submission_key=data["submission_key"],
        )
    except ConnectorError as exc:
        failed = selectors.contact_upsert_get_or_none(pk=exc.extra.get("upsert_id"))
        return _form_page(
            request,
            ContactFormPage(_form_after_failure(request.POST, exc, failed=failed)),
            failure=exc,
            account=data["account"],
            failed_upsert=failed,
        )
    if result.replayed:
        messages.info(request, "This form had been sent already; here is what happened to it.")
    for note in result.notes:
        messages.warning(request, note)
    return redirect(result.upsert)  # the result page says what happened


@require_GET
def contact_provinces(request):
    """JSON for the form's script: the provinces of `country` (alpha-3) in `account`'s Keap.

    An account that needs reconnecting answers from the cache, or with the reason it cannot.
    """
    account = selectors.connected_account_get_or_none(pk=request.GET.get("account"))
    if account is None:
        raise Http404("No such Keap account.")
    country = (request.GET.get("country") or "").strip().upper()
    answer = {"country": country, "provinces": [], "available": True, "message": ""}
    countries = lookups.lookup_countries(account=account)
    if not country:
        answer["message"] = "Choose a country first."
    elif country not in countries.codes:
        answer.update(
            available=countries.available, message=countries.notice or f"{country} is not a Keap country."
        )
    else:
        provinces = lookups.lookup_provinces(account=account, country_code=country)
        answer["provinces"] = [{"code": c.code, "name": c.name} for c in provinces.choices]
        answer["available"] = provinces.available
        answer["message"] = provinces.notice or (
            ""
            if provinces.choices
            else f"Keap lists no states or provinces for {countries.name_of(country)}."
        )
    return JsonResponse(answer)


def upsert_detail(request, pk: int):
    try:
        upsert = selectors.contact_upsert_get(pk=pk)
    except ContactUpsert.DoesNotExist:
        raise Http404("No such sent contact.") from None
    return render(
        request,
        "connectors/contacts/detail.html",
        {
            "upsert": upsert,
            "message": contact_upsert_message(upsert=upsert),
            "payload_json": json.dumps(upsert.payload, indent=2, ensure_ascii=False, sort_keys=True),
            "sent": _readable_payload(upsert.payload),
            "tags": _tag_names(upsert),
            "can_retry": contact_upsert_can_retry(upsert=upsert),
            # The result of a send comes with a fresh form for the next entry, same account.
            "next_page": (
                ContactFormPage(initial={"account": upsert.account_id})
                if upsert.status == ContactUpsert.Status.SUCCEEDED and upsert.account.is_active
                else None
            ),
        },
    )


def upsert_list(request):
    status = request.GET.get("status", "")
    upserts = selectors.contact_upsert_list(status=status, account_id=request.GET.get("account"))
    page = Paginator(upserts, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "connectors/contacts/list.html",
        {
            "page": page,
            "status": status if status in ContactUpsert.Status.values else "",
            "statuses": ContactUpsert.Status.choices,
        },
    )


@require_POST
def upsert_retry(request, pk: int):
    upsert = get_object_or_404(ContactUpsert.objects.select_related("account"), pk=pk)
    if upsert.status == ContactUpsert.Status.SUCCEEDED:
        messages.info(request, "This contact was sent successfully already: there is nothing to retry.")
        return redirect(upsert)
    try:
        result = contact_upsert_retry(upsert=upsert, performed_by=request.user)
    except ConnectorError as exc:
        messages.error(request, f"The retry failed: {exc.message}")
    else:
        if result.replayed:
            messages.info(
                request, "Another request was already sending this contact: here is where it stands."
            )
        else:
            messages.success(request, result.message)
    return redirect(upsert)


# -- helpers ----------------------------------------------------------------------------------------
def _lookups_refresh(request, account) -> None:
    """Read the account's countries and tags from Keap again (and forget its cached provinces).

    Success is told in a message; a failure is told by the form's notices about its lists.
    """
    if account is None:
        return
    countries, tags = lookups.lookups_refresh(account=account)
    if not any(lk.stale or not lk.available for lk in (countries, tags)):
        messages.success(
            request,
            f"Read {len(countries.choices)} countries and {len(tags.choices)} tags from {account} again.",
        )


def _form_page(
    request,
    page: ContactFormPage,
    *,
    failure: ConnectorError | None = None,
    account=None,
    failed_upsert=None,
):
    active = page.lists.active_accounts
    return render(
        request,
        FORM_TEMPLATE,
        {
            "page": page,
            "show_form": bool(active) or failure is not None,
            "accounts_to_reconnect": () if active else selectors.connected_account_reconnect_list(),
            "failure": failure,
            "failure_kind": _failure_kind(failure),
            "failed_account": account,
            "failed_upsert": failed_upsert,
        },
    )


def _form_after_failure(posted, exc: ConnectorError, *, failed: ContactUpsert | None) -> ContactForm:
    """The form as typed, with the failed record's key: sent again, it is sent on that record.

    Keap's refusal of the content goes on the field it concerns; any other failure is shown above
    the form, which then comes back without validation messages (nothing in it was wrong).
    """
    data = posted.copy()
    if failed is not None:
        data["submission_key"] = str(failed.submission_key)
    if not isinstance(exc, KeapRejected):
        return ContactForm(initial=contact_form_initial_from(data))
    form = ContactForm(data=data)
    form.is_valid()
    if exc.field in form.fields:  # otherwise the page's alert gives Keap's message
        form.add_error(exc.field, exc.message)
    return form


def _failure_kind(exc: ConnectorError | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, ReconnectNeeded | AccountUnavailable):
        return "reconnect"
    if isinstance(exc, TryAgainLater):
        return "try_again"
    if isinstance(exc, KeapRejected):
        return "rejected"
    return "error"


def _tag_names(upsert: ContactUpsert) -> list[str]:
    """ "Newsletter (102)" for tags whose names are cached; the bare id otherwise. Never calls Keap."""
    known = lookups.lookup_tags(account=upsert.account, cached_only=True)
    return [f"{known.name_of(t)} ({t})" if known.name_of(t) != t else t for t in upsert.tag_ids]


SLOT_LABELS = {
    "EMAIL1": "Email",
    "EMAIL2": "Email 2",
    "EMAIL3": "Email 3",
    "PHONE1": "Phone",
    "PHONE2": "Phone 2",
    "PHONE3": "Phone 3",
    "PHONE4": "Phone 4",
    "PHONE5": "Phone 5",
}


def _readable_payload(payload: dict) -> list[tuple[str, str]]:
    """The payload as label/value rows for people."""
    rows = []
    names = " ".join(p for p in (payload.get("given_name"), payload.get("family_name")) if p)
    if names:
        rows.append(("Name", names))
    for item in payload.get("email_addresses") or []:
        extra = f" (opt-in: {item['opt_in_reason']})" if item.get("opt_in_reason") else ""
        rows.append((SLOT_LABELS.get(item.get("field"), "Email"), f"{item.get('email', '')}{extra}"))
    for item in payload.get("phone_numbers") or []:
        parts = [item.get("number", "")]
        if item.get("extension"):
            parts.append(f"ext. {item['extension']}")
        if item.get("type"):
            parts.append(f"({item['type']})")
        rows.append((SLOT_LABELS.get(item.get("field"), "Phone"), " ".join(parts)))
    if (payload.get("company") or {}).get("company_name"):
        rows.append(("Company", payload["company"]["company_name"]))
    if payload.get("job_title"):
        rows.append(("Job title", payload["job_title"]))
    for item in payload.get("addresses") or []:
        parts = [item.get(k) for k in ("line1", "line2", "locality", "postal_code")] + [
            region_label(item.get("region_code") or ""),
            country_name(item.get("country_code") or ""),
        ]
        rows.append((f"{item.get('field', 'Address').title()} address", ", ".join(p for p in parts if p)))
    return rows


urlpatterns = [
    path("contacts/new/", contact_new, name="contact_new"),
    path("contacts/provinces/", contact_provinces, name="contact_provinces"),
    path("contacts/sent/", upsert_list, name="upsert_list"),
    path("contacts/sent/<int:pk>/", upsert_detail, name="upsert_detail"),
    path("contacts/sent/<int:pk>/retry/", upsert_retry, name="upsert_retry"),
]
