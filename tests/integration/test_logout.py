"""RP-Initiated Logout 1.0 at ``/t/{tenant}/logout``: a confirmation page, a CSRF-protected
POST that ends the SSO session and the grants made in it, and a redirect only to a registered
``post_logout_redirect_uri``."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.factories import REDIRECT_URI
from tests.support.flow import Flow

BYE = "https://rp.example.com/bye"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _hidden(text: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    }


def _prompt_none(http, tenant, rp):
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "prompt": "none",
        "state": "pn",
    }
    response = http.get(f"/t/{tenant.name}/authorize?{urlencode(params)}")
    assert response.status_code == 303
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _session_cookies(http, tenant) -> list[str]:
    return [
        str(c.value) for c in http.cookies.jar if c.name == "ks_session" and c.path == f"/t/{tenant.name}"
    ]


@pytest.fixture
def signed_in(client, factory):
    """A signed-in browser with tokens issued in its session."""
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant)
    flow = Flow(client, tenant.name)
    response = flow.exchange(rp, flow.login(rp, "alice"))
    assert response.status_code == 200
    return tenant, user, rp, flow, response.json()


def _logout_url(tenant, **params) -> str:
    return f"/t/{tenant.name}/logout?{urlencode(params)}"


def test_logout_shows_confirmation_page(client, signed_in):
    tenant, _, rp, _, body = signed_in
    page = client.get(
        _logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=BYE, state="bye-1")
    )
    assert page.status_code == 200
    assert "location" not in page.headers
    assert 'id="logout-form"' in page.text
    assert page.headers["cache-control"] == "no-store"
    fields = _hidden(page.text)
    assert fields["post_logout_redirect_uri"] == BYE
    assert fields["state"] == "bye-1"
    assert fields["client_id"] == rp.client_id
    assert fields["csrf_token"]
    # showing the page signs nobody out
    assert "code" in _prompt_none(client, tenant, rp)


def test_confirmed_logout_ends_session_and_redirects_with_state(client, signed_in, keystead):
    tenant, _, rp, flow, body = signed_in
    old_cookie = _session_cookies(client, tenant)[0]
    page = client.get(
        _logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=BYE, state="bye 2&x")
    )
    form = dict(_hidden(page.text), decision="logout")

    response = client.post(f"/t/{tenant.name}/logout", data=form)

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(BYE + "?")
    assert parse_qs(urlsplit(location).query) == {"state": ["bye 2&x"]}
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith('ks_session=""') or set_cookie.startswith("ks_session=;")
    assert "Max-Age=0" in set_cookie
    assert f"Path=/t/{tenant.name}" in set_cookie
    assert _session_cookies(client, tenant) == []

    assert _prompt_none(client, tenant, rp)["error"] == "login_required"
    # the old cookie value is dead on the server too
    assert keystead.sessions.current(tenant.id, old_cookie) is None
    refreshed = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 401


def test_logout_only_revokes_grants_of_that_session(client, app, signed_in, keystead):
    from starlette.testclient import TestClient

    tenant, _, rp, _, _body = signed_in
    other = TestClient(app, base_url="http://testserver", follow_redirects=False)
    try:
        other_flow = Flow(other, tenant.name)
        other_tokens = other_flow.exchange(rp, other_flow.login(rp, "alice")).json()
        page = client.get(_logout_url(tenant))
        client.post(f"/t/{tenant.name}/logout", data=dict(_hidden(page.text), decision="logout"))

        assert "code" in _prompt_none(other, tenant, rp)
        refreshed = other_flow.token(
            rp, {"grant_type": "refresh_token", "refresh_token": other_tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
    finally:
        other.close()


def test_logout_without_redirect_shows_signed_out_page(client, signed_in):
    tenant, _, rp, _, _ = signed_in
    page = client.get(_logout_url(tenant))
    assert 'id="logout-form"' in page.text
    assert "post_logout_redirect_uri" not in _hidden(page.text)
    done = client.post(f"/t/{tenant.name}/logout", data=dict(_hidden(page.text), decision="logout"))
    assert done.status_code == 200
    assert "signed out" in done.text
    assert _prompt_none(client, tenant, rp)["error"] == "login_required"


def test_unregistered_post_logout_redirect_uri_shows_error_page(client, signed_in):
    tenant, _, rp, _, body = signed_in
    for uri in ("https://evil.example.com/bye", BYE + "/", REDIRECT_URI):
        page = client.get(_logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=uri))
        assert page.status_code == 400
        assert "location" not in page.headers
        assert "invalid_request" in page.text
        assert 'id="logout-form"' not in page.text
    # a POST naming it directly is refused too and signs nobody out
    form = {"client_id": rp.client_id, "post_logout_redirect_uri": "https://evil.example.com/bye"}
    posted = client.post(f"/t/{tenant.name}/logout", data=dict(form, decision="logout"))
    assert posted.status_code == 400
    assert "location" not in posted.headers
    assert "code" in _prompt_none(client, tenant, rp)


def test_post_logout_redirect_uri_needs_a_client(client, signed_in):
    tenant, _, _, _, _ = signed_in
    page = client.get(_logout_url(tenant, post_logout_redirect_uri=BYE))
    assert page.status_code == 400
    assert "location" not in page.headers


def test_post_logout_redirect_uri_with_client_id(client, signed_in):
    tenant, _, rp, _, _ = signed_in
    page = client.get(_logout_url(tenant, client_id=rp.client_id, post_logout_redirect_uri=BYE, state="s"))
    assert page.status_code == 200
    assert _hidden(page.text)["post_logout_redirect_uri"] == BYE


def test_client_id_must_match_id_token_hint(client, signed_in, factory):
    tenant, _, _, _, body = signed_in
    other = factory.client(tenant)
    page = client.get(
        _logout_url(
            tenant, id_token_hint=body["id_token"], client_id=other.client_id, post_logout_redirect_uri=BYE
        )
    )
    assert page.status_code == 400
    assert "location" not in page.headers


def test_invalid_id_token_hint_shows_error_page(client, signed_in):
    tenant, _, _, _, body = signed_in
    for hint in ("garbage", body["access_token"]):
        page = client.get(_logout_url(tenant, id_token_hint=hint, post_logout_redirect_uri=BYE))
        assert page.status_code == 400
        assert "location" not in page.headers


def test_logout_without_session_redirects_straight_away(client, factory):
    tenant = factory.tenant()
    rp = factory.client(tenant)
    response = client.get(
        _logout_url(tenant, client_id=rp.client_id, post_logout_redirect_uri=BYE, state="x1")
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BYE}?state=x1"


def test_logout_without_session_or_redirect_shows_signed_out_page(client, factory):
    tenant = factory.tenant()
    response = client.get(_logout_url(tenant))
    assert response.status_code == 200
    assert "signed out" in response.text


def test_expired_id_token_hint_is_accepted(client, signed_in, clock):
    tenant, _, _, _, body = signed_in
    clock.advance(3600)
    page = client.get(_logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=BYE))
    assert page.status_code == 200
    assert 'id="logout-form"' in page.text


def test_decision_stay_keeps_session(client, signed_in):
    tenant, _, rp, flow, body = signed_in
    page = client.get(
        _logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=BYE, state="st")
    )
    response = client.post(f"/t/{tenant.name}/logout", data=dict(_hidden(page.text), decision="stay"))
    assert response.status_code == 303
    assert response.headers["location"] == f"{BYE}?state=st"
    assert "ks_session" not in response.headers.get("set-cookie", "")
    assert "code" in _prompt_none(client, tenant, rp)
    refreshed = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_logout_post_without_valid_csrf_is_refused(client, signed_in, token):
    tenant, _, rp, _, body = signed_in
    page = client.get(_logout_url(tenant, id_token_hint=body["id_token"], post_logout_redirect_uri=BYE))
    form = dict(_hidden(page.text), decision="logout")
    if token is None:
        del form["csrf_token"]
    else:
        form["csrf_token"] = token
    response = client.post(f"/t/{tenant.name}/logout", data=form)
    assert response.status_code == 403
    assert "location" not in response.headers
    assert "code" in _prompt_none(client, tenant, rp)


def test_csrf_token_from_another_browser_is_refused(client, app, signed_in):
    from starlette.testclient import TestClient

    tenant, _, rp, _, _ = signed_in
    attacker = TestClient(app, base_url="http://testserver", follow_redirects=False)
    try:
        start = attacker.get(
            f"/t/{tenant.name}/authorize?"
            + urlencode(
                {
                    "client_id": rp.client_id,
                    "redirect_uri": REDIRECT_URI,
                    "response_type": "code",
                    "scope": "openid",
                }
            )
        )
        attacker_page = attacker.get(start.headers["location"])
        token = _CSRF.search(attacker_page.text).group(1)  # type: ignore[union-attr]
    finally:
        attacker.close()
    response = client.post(f"/t/{tenant.name}/logout", data={"decision": "logout", "csrf_token": token})
    assert response.status_code == 403
    assert "code" in _prompt_none(client, tenant, rp)


def test_logout_post_needs_form_content_type(client, signed_in):
    tenant, _, rp, _, _ = signed_in
    response = client.post(f"/t/{tenant.name}/logout", json={"decision": "logout"})
    assert response.status_code == 400
    assert "code" in _prompt_none(client, tenant, rp)
