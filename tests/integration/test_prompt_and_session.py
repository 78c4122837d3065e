"""SSO sessions and what an authorization request asks of the user (OIDC Core section 3.1.2.1:
``prompt``, ``max_age``, ``id_token_hint``; section 3.1.2.6 errors), consent records, and the
binding of an interaction to the browser that started it."""

from __future__ import annotations

import re
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.factories import PASSWORD, REDIRECT_URI
from tests.support.flow import AuthResult, Flow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_browser(app):
    """A second browser: its own cookie jar, no lifespan (the fixture's client owns it)."""
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(app, base_url="http://testserver", follow_redirects=False)


def id_token_claims(http, tenant, token: str) -> dict:
    jwks = KeySet.import_key_set(http.get(f"/t/{tenant.name}/jwks").json())
    return jwt.decode(token, jwks, algorithms=["ES256", "RS256", "EdDSA"]).claims


def tokens(flow: Flow, rp, result) -> dict:
    response = flow.exchange(rp, result)
    assert response.status_code == 200, response.text
    return response.json()


def authorize(http, tenant, rp, **extra):
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "s1",
    }
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    return http.get(f"/t/{tenant.name}/authorize?{urlencode(params)}")


def client_params(response) -> dict[str, str]:
    assert response.status_code == 303, response.text[:400]
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def session_cookie(http, tenant) -> str:
    for cookie in http.cookies.jar:
        if cookie.name == "ks_session" and cookie.path == f"/t/{tenant.name}":
            return str(cookie.value)
    raise AssertionError("no session cookie")


@pytest.fixture
def env(client, factory):
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant)
    return tenant, user, rp, Flow(client, tenant.name)


# prompt=none
def test_prompt_none_without_session_is_login_required(client, env):
    tenant, _, rp, _ = env
    params = client_params(authorize(client, tenant, rp, prompt="none"))
    assert params["error"] == "login_required"
    assert params["state"] == "s1"
    assert params["iss"] == f"http://testserver/t/{tenant.name}"


def test_prompt_none_with_session_and_consent_returns_code_silently(client, env):
    tenant, user, rp, flow = env
    first = flow.login(rp, "alice")
    assert first.pages == ["login", "consent"]

    again = flow.login(rp, None, prompt="none")  # type: ignore[arg-type]

    assert again.pages == []
    assert again.params["state"]
    assert again.params["iss"] == f"http://testserver/t/{tenant.name}"
    body = tokens(flow, rp, again)
    assert id_token_claims(client, tenant, body["id_token"])["sub"] == user.id


def test_prompt_none_third_party_without_consent_is_consent_required(client, env, factory):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    other = factory.client(tenant, name="Other App")

    params = client_params(authorize(client, tenant, other, prompt="none"))

    assert params["error"] == "consent_required"
    assert params["state"] == "s1"
    assert params["iss"] == f"http://testserver/t/{tenant.name}"


def test_first_party_client_skips_consent(client, env, factory):
    tenant, _, _, flow = env
    own = factory.client(tenant, first_party=True, name="Own App")

    result = flow.login(own, "alice", consent=None)
    assert result.pages == ["login"]
    assert "code" in result.params

    silent = client_params(authorize(client, tenant, own, prompt="none"))
    assert "code" in silent
    assert tokens(flow, own, AuthResult(REDIRECT_URI, silent)).get("id_token")


def test_session_from_one_client_is_reused_by_another(client, env, factory):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    other = factory.client(tenant, name="Other App")
    result = flow.login(other, None)  # type: ignore[arg-type]
    assert result.pages == ["consent"]
    assert "code" in result.params


# prompt=login, max_age
def test_prompt_login_forces_login_and_updates_auth_time(client, env, clock):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    first_time = id_token_claims(client, tenant, first["id_token"])["auth_time"]
    clock.advance(30)

    again = flow.login(rp, "alice", prompt="login")

    assert again.pages == ["login"]
    claims = id_token_claims(client, tenant, tokens(flow, rp, again)["id_token"])
    assert claims["auth_time"] >= first_time + 30


def test_prompt_login_without_credentials_shows_login_page(client, env):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    response = authorize(client, tenant, rp, prompt="login")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert 'id="login-form"' in page.text


def test_prompt_select_account_shows_login_page(client, env):
    _tenant, _, rp, flow = env
    flow.login(rp, "alice")
    result = flow.login(rp, "alice", prompt="select_account")
    assert result.pages == ["login"]


def test_max_age_exceeded_forces_login(client, env, clock):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    first_time = id_token_claims(client, tenant, first["id_token"])["auth_time"]
    clock.advance(5)

    result = flow.login(rp, "alice", max_age="1")

    assert result.pages == ["login"]
    claims = id_token_claims(client, tenant, tokens(flow, rp, result)["id_token"])
    assert claims["auth_time"] >= first_time + 5


def test_max_age_exceeded_with_prompt_none_is_login_required(client, env, clock):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    clock.advance(5)
    params = client_params(authorize(client, tenant, rp, prompt="none", max_age="1"))
    assert params["error"] == "login_required"


def test_max_age_not_exceeded_reuses_session(client, env, clock):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    first_time = id_token_claims(client, tenant, first["id_token"])["auth_time"]
    clock.advance(5)

    result = flow.login(rp, None, max_age="10000")  # type: ignore[arg-type]

    assert result.pages == []
    claims = id_token_claims(client, tenant, tokens(flow, rp, result)["id_token"])
    assert claims["auth_time"] == first_time


# id_token_hint
def test_id_token_hint_of_current_user_with_prompt_none_succeeds(client, env):
    tenant, user, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))

    result = flow.login(rp, None, prompt="none", id_token_hint=first["id_token"])  # type: ignore[arg-type]

    assert result.pages == []
    claims = id_token_claims(client, tenant, tokens(flow, rp, result)["id_token"])
    assert claims["sub"] == user.id


def test_expired_id_token_hint_is_still_accepted(client, env, clock):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    clock.advance(3600)  # the ID token (600 s) has expired; the session has not
    params = client_params(authorize(client, tenant, rp, prompt="none", id_token_hint=first["id_token"]))
    assert "code" in params


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(client, app, env, factory):
    tenant, _, rp, flow = env
    factory.user(tenant, "bob")
    bob_browser = new_browser(app)
    try:
        bob_flow = Flow(bob_browser, tenant.name)
        bob_tokens = tokens(bob_flow, rp, bob_flow.login(rp, "bob"))
    finally:
        bob_browser.close()
    flow.login(rp, "alice")

    params = client_params(authorize(client, tenant, rp, prompt="none", id_token_hint=bob_tokens["id_token"]))

    assert params["error"] == "login_required"
    assert params["state"] == "s1"


def test_id_token_hint_of_another_user_asks_to_log_in(client, app, env, factory):
    tenant, _, rp, flow = env
    bob = factory.user(tenant, "bob")
    bob_browser = new_browser(app)
    try:
        bob_flow = Flow(bob_browser, tenant.name)
        bob_tokens = tokens(bob_flow, rp, bob_flow.login(rp, "bob"))
    finally:
        bob_browser.close()
    flow.login(rp, "alice")

    result = flow.login(rp, "bob", id_token_hint=bob_tokens["id_token"])

    assert result.pages == ["login"]
    assert id_token_claims(client, tenant, tokens(flow, rp, result)["id_token"])["sub"] == bob.id


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_garbage_id_token_hint_is_invalid_request(client, env, hint):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    params = client_params(authorize(client, tenant, rp, prompt="none", id_token_hint=hint))
    assert params["error"] == "invalid_request"
    assert params["state"] == "s1"


def test_id_token_hint_for_another_client_is_invalid_request(client, env, factory):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    other = factory.client(tenant, first_party=True)
    params = client_params(authorize(client, tenant, other, prompt="none", id_token_hint=first["id_token"]))
    assert params["error"] == "invalid_request"


def test_access_token_as_id_token_hint_is_refused(client, env):
    tenant, _, rp, flow = env
    first = tokens(flow, rp, flow.login(rp, "alice"))
    params = client_params(authorize(client, tenant, rp, prompt="none", id_token_hint=first["access_token"]))
    assert params["error"] == "invalid_request"  # an at+jwt is not an ID token
    assert "code" not in params


# consent
def test_consent_deny_redirects_with_access_denied(client, env):
    tenant, _, rp, flow = env
    result = flow.login(rp, "alice", consent="deny", state="deny-state")
    assert result.pages == ["login", "consent"]
    assert result.params["error"] == "access_denied"
    assert result.params["state"] == "deny-state"
    assert result.params["iss"] == f"http://testserver/t/{tenant.name}"
    assert "code" not in result.params
    # nothing was recorded: the next request asks again
    again = flow.login(rp, None, consent="allow")  # type: ignore[arg-type]
    assert again.pages == ["consent"]


def test_consent_is_remembered_per_scope_set(client, env):
    tenant, _, rp, flow = env
    first = flow.login(rp, "alice", scope="openid profile")
    assert first.pages == ["login", "consent"]

    same = flow.login(rp, None, scope="openid profile")  # type: ignore[arg-type]
    assert same.pages == []

    wider = flow.login(rp, None, scope="openid profile email")  # type: ignore[arg-type]
    assert wider.pages == ["consent"]

    params = client_params(authorize(client, tenant, rp, prompt="none", scope="openid phone"))
    assert params["error"] == "consent_required"

    subset = flow.login(rp, None, scope="openid email")  # type: ignore[arg-type]
    assert subset.pages == []


def test_prompt_consent_shows_consent_again(client, env):
    _tenant, _, rp, flow = env
    flow.login(rp, "alice")
    result = flow.login(rp, None, prompt="consent")  # type: ignore[arg-type]
    assert result.pages == ["consent"]
    assert "code" in result.params


def test_consent_page_names_client_user_and_scopes(client, env, factory):
    tenant, _, _, _flow = env
    rp = factory.client(tenant, name="Photo <Printer>")
    response = authorize(client, tenant, rp, scope="openid email")
    page = client.get(response.headers["location"])
    csrf = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    consent = client.post(
        response.headers["location"], data={"username": "alice", "password": PASSWORD, "csrf_token": csrf}
    )
    assert consent.status_code == 200
    assert 'id="consent-form"' in consent.text
    assert "Photo &lt;Printer&gt;" in consent.text
    assert "Photo <Printer>" not in consent.text
    assert "alice" in consent.text
    assert "email" in consent.text


def test_disabled_users_session_is_not_honoured(client, env, keystead):
    tenant, user, rp, flow = env
    flow.login(rp, "alice")
    keystead.users.set_status(tenant.id, user.id, "disabled")
    params = client_params(authorize(client, tenant, rp, prompt="none"))
    assert params["error"] == "login_required"
    assert "code" not in params


def test_expired_session_is_not_honoured(client, env, clock, keystead):
    tenant, _, rp, flow = env
    flow.login(rp, "alice")
    clock.advance(keystead.settings.tokens.session_ttl + 1)
    params = client_params(authorize(client, tenant, rp, prompt="none"))
    assert params["error"] == "login_required"


def test_login_hint_prefills_username(client, env):
    tenant, _, rp, _ = env
    response = authorize(client, tenant, rp, login_hint="alice@example.com")
    page = client.get(response.headers["location"])
    assert 'value="alice@example.com"' in page.text


# interaction binding
def _start(http, tenant, rp, **extra) -> str:
    response = authorize(http, tenant, rp, **extra)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/t/{tenant.name}/interaction/")
    return location


def _csrf(page) -> str:
    match = _CSRF.search(page.text)
    assert match is not None, page.text[:400]
    return match.group(1)


def test_interaction_opened_in_another_browser_is_refused(client, app, env):
    tenant, _, rp, _ = env
    location = _start(client, tenant, rp)
    other = new_browser(app)
    try:
        page = other.get(location)
        assert page.status_code == 400
        assert "location" not in page.headers
        assert 'id="login-form"' not in page.text
        assert "invalid_request" in page.text
        # the other browser cannot post a login to it either
        other.get(f"/t/{tenant.name}/logout")  # obtains a CSRF cookie of its own
        posted = other.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": "x"})
        assert posted.status_code == 400
        assert "set-cookie" not in posted.headers or "ks_session" not in posted.headers["set-cookie"]
    finally:
        other.close()
    # the browser that started it still can
    assert 'id="login-form"' in client.get(location).text


def test_interaction_cookie_is_scoped_to_its_path(client, env):
    tenant, _, rp, _ = env
    response = authorize(client, tenant, rp)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ks_interaction=")
    assert f"Path={response.headers['location']}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


def test_interaction_cannot_be_completed_twice(client, env):
    tenant, _, rp, _ = env
    location = _start(client, tenant, rp)
    csrf = _csrf(client.get(location))
    consent_page = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert 'id="consent-form"' in consent_page.text
    final = {"decision": "allow", "csrf_token": _csrf(consent_page)}
    done = client.post(location, data=final)
    assert "code" in client_params(done)

    replay = client.post(location, data=final)

    assert replay.status_code == 400
    assert "location" not in replay.headers
    assert "invalid_request" in replay.text
    assert client.get(location).status_code == 400


def test_first_party_login_cannot_be_replayed(client, env, factory):
    tenant, _, _, _ = env
    own = factory.client(tenant, first_party=True)
    location = _start(client, tenant, own)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": _csrf(client.get(location))}
    assert "code" in client_params(client.post(location, data=form))
    replay = client.post(location, data=form)
    assert replay.status_code == 400
    assert "location" not in replay.headers


def test_denied_interaction_cannot_be_allowed_afterwards(client, env):
    tenant, _, rp, _ = env
    location = _start(client, tenant, rp)
    csrf = _csrf(client.get(location))
    client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    denied = client.post(location, data={"decision": "deny", "csrf_token": csrf})
    assert client_params(denied)["error"] == "access_denied"
    allowed = client.post(location, data={"decision": "allow", "csrf_token": csrf})
    assert allowed.status_code == 400
    assert "location" not in allowed.headers


def test_expired_interaction_is_refused(client, env, clock, keystead):
    tenant, _, rp, _ = env
    location = _start(client, tenant, rp)
    csrf = _csrf(client.get(location))
    clock.advance(keystead.settings.tokens.interaction_ttl + 1)

    page = client.get(location)
    assert page.status_code == 400
    assert "expired" in page.text
    posted = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert posted.status_code == 400
    assert "location" not in posted.headers
    assert "ks_session" not in posted.headers.get("set-cookie", "")


def test_interaction_just_before_expiry_still_works(client, env, clock, keystead):
    tenant, _, rp, flow = env
    response = authorize(client, tenant, rp)
    clock.advance(keystead.settings.tokens.interaction_ttl - 5)
    result = flow.follow(response, username="alice")
    assert "code" in result.params


def test_unknown_interaction_handle_is_refused(client, env):
    tenant, _, _, _ = env
    handle = "A" * 43
    client.cookies.set("ks_interaction", handle, path=f"/t/{tenant.name}/interaction/{handle}")
    page = client.get(f"/t/{tenant.name}/interaction/{handle}")
    assert page.status_code == 400
    assert 'id="login-form"' not in page.text
