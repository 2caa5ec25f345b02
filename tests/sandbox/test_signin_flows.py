"""Sign-ins in progress: several in one browser (tabs) go on independently; finished ones end cleanly."""

from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.sandbox import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    CLIENT_ID,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    exchange_code,
    form_fields,
)

TAB_1 = "http://127.0.0.1:8000/connect/callback/"
TAB_2 = "http://127.0.0.1:9000/other/callback"
RESTART = "go back to the application you came from and start connecting again"


def authorize(http: requests.Session, url: str, *, state: str, redirect_uri: str, client_id=CLIENT_ID):
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "full",
        "state": state,
    }
    page = http.get(f"{url}/app/oauth/authorize", params=params, timeout=10)
    assert page.status_code == 200 and urlsplit(page.url).path == "/app/oauth/signin", page.text[:300]
    return page


def post(http: requests.Session, url: str, step: str, page: requests.Response, **data):
    return http.post(
        f"{url}/app/oauth/{step}", data={**form_fields(page), **data}, allow_redirects=False, timeout=10
    )


def follow(http: requests.Session, url: str, response: requests.Response) -> requests.Response:
    assert response.status_code == 302, response.text[:300]
    return http.get(url + response.headers["Location"], timeout=10)


def redirect_query(response: requests.Response) -> dict:
    assert response.status_code == 302, response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_two_tabs_interleaved_in_one_browser_each_end_with_a_code_for_their_own_state(sandbox):
    url = sandbox.url
    http = requests.Session()
    tab1 = authorize(http, url, state="tab-1", redirect_uri=TAB_1)
    tab2 = authorize(http, url, state="tab-2", redirect_uri=TAB_2, client_id=OTHER_CLIENT_ID)
    assert form_fields(tab1)["flow"] != form_fields(tab2)["flow"]

    # Tab 1 signs in (Alice, two accounts: the picker); then tab 2 (Bob, one account: consent).
    tab1 = follow(http, url, post(http, url, "signin", tab1, username=ALICE, password=ALICE_PASSWORD))
    assert urlsplit(tab1.url).path == "/app/oauth/account"
    tab2 = follow(http, url, post(http, url, "signin", tab2, username=BOB, password=BOB_PASSWORD))
    assert urlsplit(tab2.url).path == "/app/oauth/consent" and "Cedar Yoga" in tab2.text
    # Tab 1's picker form, posted after tab 2 moved on, still belongs to tab 1's sign-in.
    tab1 = follow(http, url, post(http, url, "account", tab1, app="sa102"))
    assert "Bayside Dental" in tab1.text and "KeapConnect" in tab1.text
    assert form_fields(tab1)["flow"] != form_fields(tab2)["flow"]

    second = redirect_query(post(http, url, "consent", tab2, decision="allow"))
    first = redirect_query(post(http, url, "consent", tab1, decision="allow"))
    assert first["state"] == "tab-1" and second["state"] == "tab-2"

    tokens1 = exchange_code(url, first["code"], TAB_1)
    tokens2 = exchange_code(
        url, second["code"], TAB_2, client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET
    )
    assert tokens1.status_code == 200 and tokens1.json()["scope"] == "full|sa102.infusionsoft.com"
    assert tokens2.status_code == 200 and tokens2.json()["scope"] == "full|sb201.infusionsoft.com"


def test_a_form_without_the_flow_field_still_finds_its_sign_in_by_its_csrf_token(sandbox):
    url = sandbox.url
    http = requests.Session()
    tab1 = authorize(http, url, state="one", redirect_uri=TAB_1)
    authorize(http, url, state="two", redirect_uri=TAB_2)
    csrf = form_fields(tab1)["csrf_token"]
    page = http.post(
        f"{url}/app/oauth/signin", data={"csrf_token": csrf, "username": BOB, "password": BOB_PASSWORD}
    )
    assert urlsplit(page.url).path == "/app/oauth/consent"
    answer = http.post(
        f"{url}/app/oauth/consent",
        data={"csrf_token": form_fields(page)["csrf_token"], "decision": "allow"},
        allow_redirects=False,
    )
    assert redirect_query(answer)["state"] == "one"


def test_a_browser_keeps_its_last_ten_sign_ins(sandbox):
    url = sandbox.url
    http = requests.Session()
    pages = [authorize(http, url, state=f"s{i}", redirect_uri=TAB_1) for i in range(11)]
    oldest = post(http, url, "signin", pages[0], username=BOB, password=BOB_PASSWORD)
    assert oldest.status_code == 403 and "The form has expired" in oldest.text
    kept = post(http, url, "signin", pages[1], username=BOB, password=BOB_PASSWORD)
    consent = follow(http, url, kept)
    assert redirect_query(post(http, url, "consent", consent, decision="allow"))["state"] == "s1"


def test_a_sign_in_expires_after_thirty_minutes(sandbox):
    url = sandbox.url
    http = requests.Session()
    page = authorize(http, url, state="late", redirect_uri=TAB_1)
    sandbox.advance_clock(1801)
    late = post(http, url, "signin", page, username=BOB, password=BOB_PASSWORD)
    assert late.status_code == 403 and RESTART in late.text


def test_a_sign_in_belongs_to_the_browser_that_started_it(sandbox):
    url = sandbox.url
    page = authorize(requests.Session(), url, state="mine", redirect_uri=TAB_1)
    stranger = requests.Session()
    authorize(stranger, url, state="theirs", redirect_uri=TAB_1)
    stolen = post(stranger, url, "signin", page, username=BOB, password=BOB_PASSWORD)
    assert stolen.status_code == 403


def test_a_wrong_csrf_token_is_refused(sandbox):
    url = sandbox.url
    http = requests.Session()
    page = authorize(http, url, state="x", redirect_uri=TAB_1)
    data = {**form_fields(page), "csrf_token": "forged", "username": BOB, "password": BOB_PASSWORD}
    response = http.post(f"{url}/app/oauth/signin", data=data, allow_redirects=False)
    assert response.status_code == 403


def test_pages_of_a_finished_sign_in_say_to_start_again_from_the_application(sandbox):
    url = sandbox.url
    http = requests.Session()
    page = authorize(http, url, state="done", redirect_uri=TAB_1)
    consent = follow(http, url, post(http, url, "signin", page, username=BOB, password=BOB_PASSWORD))
    assert redirect_query(post(http, url, "consent", consent, decision="allow"))["state"] == "done"

    for step in ("signin", "account", "consent"):
        page = http.get(f"{url}/app/oauth/{step}")
        assert page.status_code == 400
        assert "No sign-in in progress" in page.text and RESTART in page.text
    # Allow clicked again (the form resubmitted): no second code.
    again = post(http, url, "consent", consent, decision="allow")
    assert again.status_code == 400 and "Location" not in again.headers and RESTART in again.text
