"""Contacts: the upsert into Keap, and the ContactUpsert record of every one.

`contact_upsert` is the one way into Keap's contacts, for the staff form, the admin and any later
caller. What it does, in order:

1. Finds the record of the submission key (one per form shown). The same entry sent again returns
   that record's result without calling Keap (a double click, a reload); a failed entry, as it was
   or corrected, is sent again on its record; an entry edited after it was sent (Back, edit, send)
   becomes a new record.
2. Writes a pending ContactUpsert in its own committed transaction, so that a crash or an outage
   leaves a visible record, never a silent loss.
3. Looks the contact up by email (`GET /v2/contacts?filter=email==...`) and picks the contact that
   Keap's duplicate check will update: the oldest one whose EMAIL1 equals the email, ignoring
   case (and, for "EmailAndName", whose given and family names match too).
4. Builds the CreateUpdateContactRequest from a whitelist: the slots the form owns (EMAIL1,
   PHONE1 when a phone was typed, BILLING when an address was typed) plus, because Keap's list
   properties replace what it stores, every other slot of the matched contact converted back to
   request shape (codes only, never the read-back long names). A list the form did not touch is
   not sent at all, so Keap keeps it as it is.
5. `POST /v2/contacts?duplicate_option=...` (safe to retry: it dedupes), then applies each tag.
6. Completes the record: succeeded or failed, outcome, Keap contact id, error message, attempts.

Errors are raised as the errors of `connectors.errors` (after the record is completed); a
KeapRejected names the form field it concerns when Keap's message tells.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..errors import ConnectorError, KeapRejected
from ..models import ConnectedAccount, ContactUpsert
from .accounts import connected_account_client, keap_errors

logger = logging.getLogger(__name__)

CONTACTS_PATH = "/v2/contacts"
APPLY_TAG_PATH = "/v2/tags/{tag_id}/contacts:applyTags"
DUPLICATE_OPTIONS = ("Email", "EmailAndName")  # EmailAndNameAndCompany matches company records: not offered
# What the merge needs of an existing contact.
LOOKUP_FIELDS = "id,given_name,family_name,email_addresses,phone_numbers,addresses"

EMAIL_SLOTS = ("EMAIL1", "EMAIL2", "EMAIL3")
PHONE_SLOTS = ("PHONE1", "PHONE2", "PHONE3", "PHONE4", "PHONE5")
ADDRESS_SLOTS = ("BILLING", "SHIPPING", "OTHER")
FORM_EMAIL_SLOT, FORM_PHONE_SLOT, FORM_ADDRESS_SLOT = "EMAIL1", "PHONE1", "BILLING"
# The request-shape keys of list items read back from Keap (read-only and long-name keys are left out).
PHONE_KEYS = ("field", "number", "extension", "type")
ADDRESS_KEYS = (
    "field",
    "line1",
    "line2",
    "locality",
    "region_code",
    "country_code",
    "postal_code",
    "zip_code",
    "zip_four",
)
TAG_APPLIED = {"SUCCESS", "DUPLICATE"}  # DUPLICATE: the contact had the tag already
# Email statuses that an opt-in reason sent through the API does not change (KEAP.md, "Opt-in").
OPTED_OUT = {"UNENGAGED_NON_MARKETABLE", "NON_MARKETABLE", "LOCKDOWN", "BOUNCE", "HARD_BOUNCE"}
STUCK_AFTER = timedelta(minutes=5)  # a pending upsert older than this was interrupted (e.g. a crash)


@dataclass(frozen=True)
class ContactInput:
    """What a person typed for one contact. Empty strings mean "not given" and are never sent."""

    email: str
    given_name: str = ""
    family_name: str = ""
    phone_number: str = ""
    phone_extension: str = ""
    phone_type: str = ""
    company_name: str = ""
    job_title: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country_code: str = ""  # ISO 3166-1 alpha-3, from Keap's countries
    region_code: str = ""  # ISO 3166-2, from Keap's provinces of that country
    opt_in_reason: str = ""

    def __post_init__(self):
        for name, value in self.as_dict().items():
            object.__setattr__(self, name, (value or "").strip())

    def as_dict(self) -> dict[str, str]:
        """The fields by name. Flat strings: no need for `dataclasses.asdict`'s slow deep copy."""
        return dict(vars(self))

    @property
    def has_phone(self) -> bool:
        return bool(self.phone_number)

    @property
    def has_address(self) -> bool:
        return any((self.line1, self.line2, self.city, self.postal_code, self.country_code, self.region_code))


@dataclass(frozen=True)
class UpsertResult:
    upsert: ContactUpsert
    replayed: bool = False  # the submission key had been sent before: Keap was not called again
    notes: tuple[str, ...] = ()  # what the person should know about a success (e.g. an opt-in refused)

    @property
    def succeeded(self) -> bool:
        return self.upsert.status == ContactUpsert.Status.SUCCEEDED

    @property
    def created(self) -> bool:
        return self.upsert.outcome == ContactUpsert.Outcome.CREATED

    @property
    def contact_id(self) -> str:
        return self.upsert.keap_contact_id

    @property
    def payload(self) -> dict:
        return self.upsert.payload

    @property
    def message(self) -> str:
        return contact_upsert_message(upsert=self.upsert)


def contact_upsert_message(*, upsert: ContactUpsert) -> str:
    """What a person is told about an upsert: "Created contact #12 in Alpine Bakery", or why not."""
    business = upsert.account.business_name or upsert.account.app_name
    if upsert.status == ContactUpsert.Status.SUCCEEDED:
        verb = "Created" if upsert.outcome == ContactUpsert.Outcome.CREATED else "Updated"
        return f"{verb} contact #{upsert.keap_contact_id} in {business}"
    if upsert.status == ContactUpsert.Status.FAILED:
        return f"Sending {upsert.email} to {business} failed: {upsert.error_message}"
    return f"Sending {upsert.email} to {business} has not finished (pending)."


# -- the services ---------------------------------------------------------------------------------
def contact_upsert(
    *,
    account: ConnectedAccount,
    contact: ContactInput,
    duplicate_option: str = "Email",
    tag_ids: list[str] | tuple[str, ...] = (),
    performed_by=None,
    submission_key: uuid.UUID | str | None = None,
) -> UpsertResult:
    """Create or update one contact in the account's Keap and record it. See the module docstring.

    Deliberately not one atomic block: the pending record is committed before Keap is called.
    Raises AccountUnavailable, ReconnectNeeded, TryAgainLater, KeapRejected or ConnectorError; the
    record is completed (failed) before any of them is raised.
    """
    if duplicate_option not in DUPLICATE_OPTIONS:
        raise ValueError(f"duplicate_option must be one of {DUPLICATE_OPTIONS}, not {duplicate_option!r}")
    tag_ids = [str(t) for t in tag_ids]
    if submission_key is not None:
        earlier = (
            ContactUpsert.objects.select_related("account").filter(submission_key=submission_key).first()
        )
        entry = {
            "account": account,
            "contact": contact,
            "duplicate_option": duplicate_option,
            "tag_ids": tag_ids,
        }
        if earlier is not None and _same_entry(earlier, **entry):
            if not _upsert_record_claim(earlier):
                return UpsertResult(upsert=earlier, replayed=True)  # sent, or being sent, already
            return _upsert_send(upsert=earlier, contact=contact)  # it failed: again, on the same record
        if (
            earlier is not None
            and earlier.account_id == account.pk
            and earlier.status == ContactUpsert.Status.FAILED
            and _upsert_record_claim(earlier)
        ):
            # Corrected after a failure: the same entry, sent again with what is typed now.
            _upsert_record_revise(earlier, **entry)
            return _upsert_send(upsert=earlier, contact=contact)
        if earlier is not None:
            submission_key = None  # edited after it was sent (Back, edit, send): a new entry
    try:
        upsert = _upsert_record_create(
            account=account,
            contact=contact,
            duplicate_option=duplicate_option,
            tag_ids=tag_ids,
            performed_by=performed_by,
            submission_key=submission_key,
        )
    except IntegrityError:
        # The same submission arrived twice at once: the other request is sending it.
        earlier = ContactUpsert.objects.select_related("account").get(submission_key=submission_key)
        return UpsertResult(upsert=earlier, replayed=True)
    return _upsert_send(upsert=upsert, contact=contact)


def contact_upsert_retry(*, upsert: ContactUpsert, performed_by=None) -> UpsertResult:
    """Send a failed (or stuck pending) upsert again, through the same steps as the first time.

    The contact is what was entered for the record, merged again with the contact as Keap holds it
    now. `performed_by` stays the person
    who entered the contact; the one retrying is logged (and recorded only when nobody was).
    Raises like `contact_upsert`. A record another request is sending (or has just sent) is not
    sent again: the result is that record as it stands, `replayed`.
    """
    if upsert.status == ContactUpsert.Status.SUCCEEDED:
        raise ConnectorError(f"{upsert.email} was already sent successfully; there is nothing to retry.")
    if not _upsert_record_claim(upsert):
        upsert.refresh_from_db()
        return UpsertResult(upsert=upsert, replayed=True)
    retried_by = getattr(performed_by, "pk", None)
    logger.info("Upsert %s retried by user %s (attempt %s)", upsert.pk, retried_by, upsert.attempts + 1)
    if retried_by and upsert.performed_by_id is None:
        ContactUpsert.objects.filter(pk=upsert.pk).update(performed_by=performed_by)
        upsert.performed_by = performed_by
    return _upsert_send(upsert=upsert, contact=_submitted_input(upsert))


def contact_upsert_can_retry(*, upsert: ContactUpsert, now: datetime | None = None) -> bool:
    """Failed upserts can be sent again, and pending ones that have been stuck for a while (a crash)."""
    if upsert.status == ContactUpsert.Status.FAILED:
        return True
    now = now or timezone.now()
    return upsert.status == ContactUpsert.Status.PENDING and upsert.updated_at < now - STUCK_AFTER


def contact_payload_build(*, contact: ContactInput, existing: dict | None = None) -> dict:
    """The CreateUpdateContactRequest body for `contact`, merged with the `existing` Keap contact.

    Only whitelisted properties, never an empty string, never a read-only property. List properties
    are sent only when the form sets one of their slots; then the other slots of `existing` go
    along unchanged, so that Keap's replace semantics delete nothing the form did not touch. In
    the form's own phone and address slots, what the form leaves empty keeps its stored value
    where it still belongs, and a replaced first phone moves to a free slot (`_phones_merge`,
    `_address_merge`).
    """
    existing = existing or {}
    payload: dict[str, Any] = {}
    for key in ("given_name", "family_name", "job_title"):
        if getattr(contact, key):
            payload[key] = getattr(contact, key)
    if contact.company_name:
        payload["company"] = {"company_name": contact.company_name}

    email = _stored_email(existing, contact.email) or contact.email
    own_email = _compact({"email": email, "field": FORM_EMAIL_SLOT, "opt_in_reason": contact.opt_in_reason})
    payload["email_addresses"] = [own_email] + [
        _compact({"email": item.get("email"), "field": item.get("field")})
        for item in _other_slots(existing.get("email_addresses"), EMAIL_SLOTS, FORM_EMAIL_SLOT)
        if item.get("email")
    ]
    if contact.has_phone:
        typed_phone = {
            "field": FORM_PHONE_SLOT,
            "number": contact.phone_number,
            "extension": contact.phone_extension,
            "type": contact.phone_type,
        }
        payload["phone_numbers"] = _phones_merge(existing.get("phone_numbers"), typed_phone)
    if contact.has_address:
        own_address = _address_merge(
            _own_slot(existing.get("addresses"), FORM_ADDRESS_SLOT),
            {
                "field": FORM_ADDRESS_SLOT,
                "line1": contact.line1,
                "line2": contact.line2,
                "locality": contact.city,
                "postal_code": contact.postal_code,
                "country_code": contact.country_code,
                "region_code": contact.region_code,
            },
        )
        payload["addresses"] = [own_address] + [
            _address_request(item)
            for item in _other_slots(existing.get("addresses"), ADDRESS_SLOTS, FORM_ADDRESS_SLOT)
        ]
    return payload


def contact_match(
    *, contacts: list[dict], email: str, duplicate_option: str, given_name: str = "", family_name: str = ""
) -> dict | None:
    """The contact Keap's duplicate check updates: the oldest whose EMAIL1 equals `email` (any case).

    "EmailAndName" also needs the given and family names equal (trimmed, any case).
    """

    def norm(value) -> str:
        return (value or "").strip().casefold()

    matches = []
    for candidate in contacts:
        if norm(_stored_email(candidate, email, slot=FORM_EMAIL_SLOT)) != norm(email):
            continue
        if duplicate_option == "EmailAndName" and (
            norm(candidate.get("given_name")) != norm(given_name)
            or norm(candidate.get("family_name")) != norm(family_name)
        ):
            continue
        matches.append(candidate)
    return min(matches, key=_id_order) if matches else None


# -- the steps --------------------------------------------------------------------------------------
def _upsert_record_create(
    *, account, contact, duplicate_option, tag_ids, performed_by, submission_key
) -> ContactUpsert:
    # Committed before Keap is called. In a caller's transaction, a savepoint makes a duplicate
    # key undo only this INSERT; on its own (autocommit) the INSERT needs no transaction around it.
    with nullcontext() if transaction.get_autocommit() else transaction.atomic():
        return ContactUpsert.objects.create(
            account=account,
            performed_by=performed_by if getattr(performed_by, "pk", None) else None,
            submission_key=submission_key or uuid.uuid4(),
            email=contact.email,
            duplicate_option=duplicate_option,
            submitted=contact.as_dict(),
            payload=contact_payload_build(contact=contact),  # replaced by the merged body before sending
            tag_ids=tag_ids,
            status=ContactUpsert.Status.PENDING,
        )


def _submitted_input(upsert: ContactUpsert) -> ContactInput:
    """What was entered for this record."""
    return ContactInput(**upsert.submitted)


def _same_entry(upsert: ContactUpsert, *, account, contact: ContactInput, duplicate_option, tag_ids) -> bool:
    return (
        upsert.account_id == account.pk
        and _submitted_input(upsert) == contact
        and upsert.duplicate_option == duplicate_option
        and sorted(upsert.tag_ids) == sorted(tag_ids)
    )


def _upsert_record_claim(upsert: ContactUpsert, *, now: datetime | None = None) -> bool:
    """Take a failed (or stuck) record to send it again; False when it is not, or another request was first.

    One conditional UPDATE, so that two requests resending the same record cannot both send it.
    """
    now = now or timezone.now()
    resendable = Q(status=ContactUpsert.Status.FAILED) | Q(
        status=ContactUpsert.Status.PENDING, updated_at__lt=now - STUCK_AFTER
    )
    claimed = ContactUpsert.objects.filter(resendable, pk=upsert.pk).update(
        status=ContactUpsert.Status.PENDING, updated_at=now
    )
    if claimed:
        upsert.status, upsert.updated_at = ContactUpsert.Status.PENDING, now
    return bool(claimed)


def _upsert_record_revise(upsert: ContactUpsert, *, account, contact, duplicate_option, tag_ids) -> None:
    """A failed entry, corrected by the person: the record now stands for what they typed."""
    upsert.email = contact.email
    upsert.duplicate_option = duplicate_option
    upsert.tag_ids = tag_ids
    upsert.submitted = contact.as_dict()
    upsert.payload = contact_payload_build(contact=contact)
    upsert.save(update_fields=["email", "duplicate_option", "tag_ids", "submitted", "payload", "updated_at"])


def _upsert_send(*, upsert: ContactUpsert, contact: ContactInput) -> UpsertResult:
    account = upsert.account
    attempts = upsert.attempts + 1
    sent: dict | None = None
    status = contact_id = None
    try:
        with keap_errors(account=account), connected_account_client(account=account) as client:
            existing = _contact_find(client, contact=contact, duplicate_option=upsert.duplicate_option)
            sent = contact_payload_build(contact=contact, existing=existing)
            upsert.payload = sent  # saved with the outcome (one write less on the way to Keap)
            status, body = client.post(
                CONTACTS_PATH,
                params={"duplicate_option": upsert.duplicate_option},
                json=sent,
                idempotent=True,
                with_status=True,
            )
            contact_id = _contact_id(body)
            if not contact_id:
                raise ConnectorError("Keap answered the upsert without a contact id.")
            if existing and status == 200 and str(existing.get("id")) != contact_id:
                logger.warning(
                    "Upsert %s: merged with Keap contact %s but Keap updated %s",
                    upsert.pk,
                    existing.get("id"),
                    contact_id,
                )
            _tags_apply(client, tag_ids=upsert.tag_ids, contact_id=contact_id)
            notes = _phones_replaced_notes(existing, sent) + _opt_in_notes(body or {}, contact=contact)
    except KeapRejected as exc:
        refined = KeapRejected(exc.message, exc.extra, field=_rejected_field(exc))
        _upsert_record_fail(upsert, attempts=attempts, error=refined, status=status, contact_id=contact_id)
        raise refined from exc
    except ConnectorError as exc:
        _upsert_record_fail(upsert, attempts=attempts, error=exc, status=status, contact_id=contact_id)
        raise
    except Exception as exc:
        _upsert_record_fail(
            upsert,
            attempts=attempts,
            error=ConnectorError(f"Unexpected error: {type(exc).__name__}"),
            status=status,
            contact_id=contact_id,
        )
        raise
    _upsert_record_complete(
        upsert,
        status=ContactUpsert.Status.SUCCEEDED,
        outcome=_outcome(upsert, status=status, contact_id=contact_id),
        contact_id=contact_id,
        error_message="",
        attempts=attempts,
    )
    logger.info("Upsert %s: %s contact %s in account %s", upsert.pk, upsert.outcome, contact_id, account.pk)
    return UpsertResult(upsert=upsert, notes=notes)


def _contact_id(body) -> str:
    """The saved contact's id from Keap's answer ("" unless it is a number or a string of digits)."""
    raw = body.get("id") if isinstance(body, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return ""
    raw = str(raw).strip()
    return raw if raw.isdigit() else ""


def _contact_find(client, *, contact: ContactInput, duplicate_option: str) -> dict | None:
    """The Keap contact the upsert will update, with the slots to keep; None when it will create one."""
    # `requests` URL-encodes the value (`==` -> %3D%3D, `+` -> %2B, `@` -> %40). A `*` in an address
    # would be a wildcard to Keap: `contact_match` keeps exact matches only.
    candidates = list(
        client.paginate(
            CONTACTS_PATH,
            items_key="contacts",
            params={"filter": f"email=={contact.email}", "fields": LOOKUP_FIELDS},
        )
    )
    return contact_match(
        contacts=candidates,
        email=contact.email,
        duplicate_option=duplicate_option,
        given_name=contact.given_name,
        family_name=contact.family_name,
    )


def _phones_replaced_notes(existing: dict | None, sent: dict) -> tuple[str, ...]:
    """A note for a stored number the upsert replaced: only when all five phone slots were taken."""
    kept = {_digits(item.get("number")) for item in sent.get("phone_numbers") or []}
    replaced = [
        item.get("number")
        for item in (existing or {}).get("phone_numbers") or []
        if isinstance(item, dict) and item.get("number") and _digits(item["number"]) not in kept
    ]
    if "phone_numbers" not in sent or not replaced:
        return ()
    return (
        f"Keap holds five phone numbers at most, and all five were taken: {', '.join(replaced)} was "
        "replaced by the number entered.",
    )


def _opt_in_notes(saved: dict, *, contact: ContactInput) -> tuple[str, ...]:
    """A note when an opt-in reason was sent for an address Keap keeps opted out."""
    status = _own_slot(saved.get("email_addresses"), FORM_EMAIL_SLOT).get("email_opt_status")
    if not contact.opt_in_reason or status not in OPTED_OUT:
        return ()
    return (
        f"Keap keeps {contact.email} as {status}: an address that opted out cannot be opted in again "
        "through the API, so the opt-in reason did not subscribe it.",
    )


def _tags_apply(client, *, tag_ids: list[str], contact_id: str) -> None:
    failed = []
    for tag_id in tag_ids:
        body = client.post(
            APPLY_TAG_PATH.format(tag_id=tag_id), json={"contact_ids": [contact_id]}, idempotent=True
        )
        results = body.get("results") if isinstance(body, dict) else None
        result = results.get(contact_id) if isinstance(results, dict) else None
        if result is not None and result not in TAG_APPLIED:
            failed.append(f"{tag_id} ({result})")
    if failed:
        raise ConnectorError(
            f"Contact #{contact_id} was saved, but Keap did not apply the tags {', '.join(failed)}."
        )


def _upsert_record_fail(upsert, *, attempts, error: ConnectorError, status, contact_id) -> None:
    error.extra["upsert_id"] = upsert.pk  # the caller can point at the failed record
    saved = status in (200, 201) and contact_id  # the contact was saved; a later step (tags) failed
    _upsert_record_complete(
        upsert,
        status=ContactUpsert.Status.FAILED,
        outcome=_outcome(upsert, status=status, contact_id=contact_id) if saved else upsert.outcome,
        contact_id=contact_id if saved else upsert.keap_contact_id,
        error_message=error.message,
        attempts=attempts,
    )
    logger.warning("Upsert %s failed (%s): %s", upsert.pk, type(error).__name__, error.message)


def _upsert_record_complete(upsert, *, status, outcome, contact_id, error_message, attempts) -> None:
    upsert.status = status
    upsert.outcome = outcome or ""
    upsert.keap_contact_id = contact_id or ""
    upsert.error_message = error_message
    upsert.attempts = attempts
    upsert.save(
        update_fields=[
            "status",
            "outcome",
            "keap_contact_id",
            "error_message",
            "attempts",
            "payload",
            "updated_at",
        ]
    )


def _outcome(upsert: ContactUpsert, *, status, contact_id) -> str:
    # A retry after a first attempt that created the contact (and then failed on a tag) updates
    # that contact: it was still created by this upsert.
    if upsert.outcome == ContactUpsert.Outcome.CREATED and upsert.keap_contact_id == contact_id:
        return ContactUpsert.Outcome.CREATED
    return ContactUpsert.Outcome.CREATED if status == 201 else ContactUpsert.Outcome.UPDATED


# -- Keap's error messages -> form fields ---------------------------------------------------------
# Keap's validation messages name the property or the slot ("BILLING Region is invalid",
# "EMAIL1 'x' is not a valid email address", "given_name exceeds ..."); the first rule that matches wins.
# The field names are the ContactInput's, which the contact form uses too.
FIELD_RULES: tuple[tuple[str, str], ...] = (
    (r"opt_in_reason", "opt_in_reason"),
    # Before the address rules: an address error never mentions email, an email may contain "region".
    (r"\bemail", "email"),
    (r"duplicate_option", "duplicate_option"),
    (r"\bregion\b", "region_code"),
    (r"\bcountry", "country_code"),
    (r"\bpostal|zip", "postal_code"),
    (r"\blocality\b|\bcity\b", "city"),
    (r"\bline1\b", "line1"),
    (r"\bline2\b", "line2"),
    (r"\bextension\b", "phone_extension"),
    (r"\bphone|\bnumber\b", "phone_number"),
    (r"given_name|first name", "given_name"),
    (r"family_name|last name", "family_name"),
    (r"job_title|job title", "job_title"),
    (r"company", "company_name"),
)


def _rejected_field(exc: KeapRejected) -> str | None:
    """The form field a Keap validation error concerns, when its message (or details) tells."""
    details = " ".join(
        str(d.get("resource") or "") for d in exc.extra.get("details") or [] if isinstance(d, dict)
    )
    for text in (exc.message, details):
        lowered = text.lower()
        for pattern, field in FIELD_RULES:
            if re.search(pattern, lowered):
                return field
    return None


# -- helpers -----------------------------------------------------------------------------------------
def _compact(item: dict) -> dict:
    """Drop empty values: an empty string sent to Keap would clear what it holds."""
    return {
        key: value.strip() if isinstance(value, str) else value
        for key, value in item.items()
        if value not in (None, "") and not (isinstance(value, str) and not value.strip())
    }


def _other_slots(items, slots: tuple[str, ...], own: str) -> list[dict]:
    """The read-back list items in valid slots other than the form's own, in slot order."""
    by_slot = {}
    for item in items or []:
        if isinstance(item, dict) and item.get("field") in slots and item["field"] != own:
            by_slot.setdefault(item["field"], item)
    return [by_slot[slot] for slot in slots if slot in by_slot]


def _own_slot(items, slot: str) -> dict:
    """The read-back list item in the form's own `slot`, or {}."""
    return next((item for item in items or [] if isinstance(item, dict) and item.get("field") == slot), {})


def _phones_merge(stored_items, typed: dict) -> list[dict]:
    """The phone list to send: the form's phone in PHONE1, and every stored number kept.

    The same number as stored in PHONE1 keeps its extension and type unless typed. A new number
    moves the old PHONE1 to the first free slot (PHONE2-5) rather than deleting it, and a number
    stored in another slot moves to PHONE1 rather than being stored twice.
    """
    typed = _compact(typed)
    number = _digits(typed["number"])
    stored = {}
    for slot in PHONE_SLOTS:
        item = _own_slot(stored_items, slot)
        if item.get("number"):
            stored[slot] = _compact({key: item.get(key) for key in PHONE_KEYS})
    old = stored.pop(FORM_PHONE_SLOT, {})
    if _digits(old.get("number")) == number:
        return [{**old, **typed}, *_slot_order(stored)]
    others = {slot: item for slot, item in stored.items() if _digits(item["number"]) != number}
    moved = next((item for item in stored.values() if _digits(item["number"]) == number), None)
    if moved:  # it keeps its extension and type unless typed
        typed = {**moved, **typed}
    if old:
        free = next((slot for slot in PHONE_SLOTS[1:] if slot not in others), None)
        if free is None:
            logger.warning("All phone slots are taken: the number in %s is replaced", FORM_PHONE_SLOT)
        else:
            others[free] = {**old, "field": free}
    return [typed, *_slot_order(others)]


def _slot_order(items: dict[str, dict]) -> list[dict]:
    return [items[slot] for slot in PHONE_SLOTS if slot in items]


# An address from its broadest part to its finest; the postal code stands for zip_code + zip_four too.
ADDRESS_PARTS = ("country_code", "region_code", "locality", "postal_code", "line1", "line2")


def _address_merge(stored: dict, typed: dict) -> dict:
    """The form's address, completed with the stored parts that still belong to it.

    A part left empty keeps its stored value while every broader part is typed the same or left
    empty; once a broader part changes (another city, say), the finer stored parts belonged to the
    old address and are dropped. So "Aspen" over "1 Main St, Denver 80202" gives "Aspen" (not
    "1 Main St, Aspen 80202"); a new street in the same city keeps its postal code, and a new postal
    code keeps the street.
    """
    typed = _compact(typed)
    kept = _address_request(stored) if stored else {}
    merged = {"field": typed["field"]}
    for part in ADDRESS_PARTS:
        stored_parts = ("postal_code", "zip_code", "zip_four") if part == "postal_code" else (part,)
        if part in typed:
            merged[part] = typed[part]
            changed = part in kept and typed[part].casefold() != str(kept[part]).casefold()
            if changed and part != "postal_code":  # a corrected postal code keeps the street
                kept = {}  # the finer stored parts belonged to the old address
        else:
            merged.update({key: kept[key] for key in stored_parts if key in kept})
    return merged


def _digits(number) -> str:
    return re.sub(r"\D", "", str(number or ""))


def _address_request(item: dict) -> dict:
    """A read-back address in request shape: codes only, never the long `region`/`country` names."""
    out = _compact({key: item.get(key) for key in ADDRESS_KEYS})
    if item.get("region") and not item.get("region_code"):
        logger.warning(
            "Keap address %s has a region name but no region code; it cannot be sent back", item["field"]
        )
    return out


def _stored_email(contact: dict, email: str, *, slot: str | None = None) -> str | None:
    """The contact's stored spelling of `email` (compared ignoring case), or of its `slot`."""
    for item in contact.get("email_addresses") or []:
        if not isinstance(item, dict):
            continue
        if slot is not None:
            if item.get("field") == slot:
                return item.get("email")
        elif (item.get("email") or "").casefold() == email.casefold() and item.get(
            "field"
        ) == FORM_EMAIL_SLOT:
            return item.get("email")
    return None


def _id_order(contact: dict):
    raw = str(contact.get("id") or "")
    return (0, int(raw), raw) if raw.isdigit() else (1, 0, raw)
