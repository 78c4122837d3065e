"""The authorization endpoint's request validation (RFC 6749 section 4.1.1 and 4.1.2.1,
OIDC Core section 3.1.2, RFC 9207 ``iss``, OAuth 2.0 Form Post Response Mode).

Errors about the client or its redirect URI are shown on an error page and never redirected;
every later error goes back to the registered redirect URI with ``error``, ``state`` and ``iss``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.factories import REDIRECT_URI
from tests.support.flow import AuthResult, Flow, pkce_pair


def _base_params(rp, **extra):
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-123",
        "nonce": "n-456",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def _redirect_error(response, tenant) -> dict[str, str]:
    """The error parameters of a redirect to the client, checked for ``state`` and ``iss``."""
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = _query(location)
    assert all(len(v) == 1 for v in query.values()), query
    params = {k: v[0] for k, v in query.items()}
    assert "code" not in params
    assert params["iss"] == f"http://testserver/t/{tenant.name}"
    return params


def _assert_error_page(response, status: int = 400) -> None:
    assert response.status_code == status, response.text[:500]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "invalid_request" in response.text or "server_error" in response.text


@pytest.fixture
def setup(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant)
    return tenant, rp


def _get(client, tenant, params):
    return client.get(f"/t/{tenant.name}/authorize?{urlencode(params, doseq=True)}")


# errors shown on a page, never redirected
def test_unknown_client_id_shows_error_page_without_redirect(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, client_id="no-such-client"))
    _assert_error_page(response)
    assert "rp.example.com" not in response.headers.get("location", "")


def test_missing_client_id_shows_error_page(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, client_id=None))
    _assert_error_page(response)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/cb",
        REDIRECT_URI + "/",
        REDIRECT_URI + "?x=1",
        "https://RP.example.com/cb",
        "http://rp.example.com/cb",
    ],
)
def test_unregistered_redirect_uri_shows_error_page(client, setup, redirect_uri):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, redirect_uri=redirect_uri))
    _assert_error_page(response)
    assert "redirect_uri" in html.unescape(response.text)


def test_missing_redirect_uri_shows_error_page(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, redirect_uri=None))
    _assert_error_page(response)


def test_error_page_escapes_reflected_input(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, client_id="<script>alert(1)</script>"))
    _assert_error_page(response)
    assert "<script>alert(1)" not in response.text


# errors returned to the client
def test_missing_response_type_is_invalid_request_at_redirect_uri(client, setup):
    tenant, rp = setup
    params = _redirect_error(_get(client, tenant, _base_params(rp, response_type=None)), tenant)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"
    assert "response_type" in params["error_description"]


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
def test_other_response_types_are_unsupported(client, setup, response_type):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, response_type=response_type))
    params = _redirect_error(response, tenant)
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "st-123"


def test_client_without_code_grant_is_unauthorized_client(client, factory):
    tenant = factory.tenant()
    rp = factory.client(tenant, grant_types=["client_credentials"], redirect_uris=[REDIRECT_URI])
    params = _redirect_error(_get(client, tenant, _base_params(rp)), tenant)
    assert params["error"] == "unauthorized_client"


def test_scope_not_allowed_for_client_is_invalid_scope(client, factory):
    tenant = factory.tenant()
    rp = factory.client(tenant, scopes=["openid", "profile"])
    params = _redirect_error(_get(client, tenant, _base_params(rp, scope="openid email")), tenant)
    assert params["error"] == "invalid_scope"
    assert params["state"] == "st-123"
    assert "email" in params["error_description"]


def test_missing_scope_is_invalid_scope(client, setup):
    tenant, rp = setup
    params = _redirect_error(_get(client, tenant, _base_params(rp, scope=None)), tenant)
    assert params["error"] == "invalid_scope"


def test_unknown_prompt_value_is_invalid_request(client, setup):
    tenant, rp = setup
    params = _redirect_error(_get(client, tenant, _base_params(rp, prompt="login bogus")), tenant)
    assert params["error"] == "invalid_request"
    assert "prompt" in params["error_description"]


def test_prompt_none_combined_with_login_is_invalid_request(client, setup):
    tenant, rp = setup
    params = _redirect_error(_get(client, tenant, _base_params(rp, prompt="none login")), tenant)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"


def test_request_object_is_not_supported(client, setup):
    tenant, rp = setup
    params = _redirect_error(
        _get(client, tenant, _base_params(rp, request="eyJhbGciOiJub25lIn0.e30.")), tenant
    )
    assert params["error"] == "request_not_supported"
    assert params["state"] == "st-123"


def test_request_uri_is_not_supported(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, request_uri="https://rp.example.com/req.jwt"))
    params = _redirect_error(response, tenant)
    assert params["error"] == "request_uri_not_supported"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"response_mode": "fragment"}, "response_mode"),
        ({"max_age": "-1"}, "max_age"),
        ({"max_age": "soon"}, "max_age"),
        ({"claims": "not json"}, "claims"),
        ({"claims": '{"access_token": {}}'}, "claims"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "code_challenge"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "S256"),
        ({"code_challenge_method": "S256"}, "code_challenge"),
    ],
)
def test_invalid_optional_parameters_are_invalid_request(client, setup, extra, fragment):
    tenant, rp = setup
    params = _redirect_error(_get(client, tenant, _base_params(rp, **extra)), tenant)
    assert params["error"] == "invalid_request"
    assert fragment in params["error_description"]
    assert params["state"] == "st-123"


def test_public_client_must_use_pkce(client, factory):
    tenant = factory.tenant()
    rp = factory.client(tenant, client_type="public")
    params = _redirect_error(_get(client, tenant, _base_params(rp)), tenant)
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]
    _, challenge = pkce_pair()
    ok = _get(client, tenant, _base_params(rp, code_challenge=challenge, code_challenge_method="S256"))
    assert ok.status_code == 303
    assert ok.headers["location"].startswith(f"/t/{tenant.name}/interaction/")


def test_error_without_state_has_no_state(client, setup):
    tenant, rp = setup
    params = _redirect_error(
        _get(client, tenant, _base_params(rp, state=None, response_type="token")), tenant
    )
    assert params["error"] == "unsupported_response_type"
    assert "state" not in params


def test_unknown_extra_parameters_are_ignored(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, foo="bar", x_custom="1", display="page"))
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{tenant.name}/interaction/")


# duplicates (RFC 6749 section 3.1)
@pytest.mark.parametrize("name", ["scope", "response_type", "nonce", "prompt", "code_challenge"])
def test_duplicate_parameter_is_invalid_request_at_redirect_uri(client, setup, name):
    tenant, rp = setup
    params = _base_params(rp)
    values = {"scope": "openid", "response_type": "code", "nonce": "x", "prompt": "login"}
    _, challenge = pkce_pair()
    values["code_challenge"] = challenge
    pairs = [*params.items(), (name, values[name]), (name, values[name])]
    response = client.get(f"/t/{tenant.name}/authorize?{urlencode(pairs)}")
    error = _redirect_error(response, tenant)
    assert error["error"] == "invalid_request"
    assert name in error["error_description"]


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_duplicate_client_id_or_redirect_uri_shows_error_page(client, setup, name):
    tenant, rp = setup
    params = _base_params(rp)
    pairs = [*params.items(), (name, params[name])]
    response = client.get(f"/t/{tenant.name}/authorize?{urlencode(pairs)}")
    _assert_error_page(response)


def test_duplicate_state_is_an_error_and_not_echoed(client, setup):
    tenant, rp = setup
    pairs = [*_base_params(rp, state=None).items(), ("state", "one"), ("state", "two")]
    response = client.get(f"/t/{tenant.name}/authorize?{urlencode(pairs)}")
    error = _redirect_error(response, tenant)
    assert error["error"] == "invalid_request"
    assert "state" not in error


def test_overlong_state_is_an_error(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, state="s" * 2049))
    error = _redirect_error(response, tenant)
    assert error["error"] == "invalid_request"
    assert "state" not in error


# POST, response modes, redirect URIs with a query
def test_post_to_authorize_works(client, setup):
    tenant, rp = setup
    response = client.post(f"/t/{tenant.name}/authorize", data=_base_params(rp))
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{tenant.name}/interaction/")
    flow = Flow(client, tenant.name)
    result = flow.follow(response, username="alice")
    assert result.params["state"] == "st-123"
    assert "code" in result.params
    assert flow.exchange(rp, result).status_code == 200


def test_post_errors_are_redirected_too(client, setup):
    tenant, rp = setup
    response = client.post(f"/t/{tenant.name}/authorize", data=_base_params(rp, response_type="token"))
    assert _redirect_error(response, tenant)["error"] == "unsupported_response_type"


def _hidden_fields(text: str) -> dict[str, str]:
    return {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    }


def _assert_form_post_page(response) -> dict[str, str]:
    assert response.status_code == 200, response.text[:500]
    assert "location" not in response.headers
    text = response.text
    form = re.search(r'<form method="post" action="([^"]+)" id="form-post">', text)
    assert form is not None
    assert html.unescape(form.group(1)) == REDIRECT_URI
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", text, flags=re.S)
    assert scripts, "the page submits itself with a script"
    for attrs, body in scripts:
        assert 'src="/static/form-post.js"' in attrs
        assert body.strip() == "", "no inline script"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    return _hidden_fields(text)


def test_form_post_response_mode_returns_auto_submit_form(client, setup):
    tenant, rp = setup
    flow = Flow(client, tenant.name)
    flow.login(rp, "alice")  # session and consent on record

    response = _get(client, tenant, _base_params(rp, response_mode="form_post", state="fp-state"))

    fields = _assert_form_post_page(response)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == "fp-state"
    assert fields["iss"] == f"http://testserver/t/{tenant.name}"
    exchanged = flow.exchange(rp, AuthResult(REDIRECT_URI, {"code": fields["code"]}))
    assert exchanged.status_code == 200, exchanged.text
    assert client.get("/static/form-post.js").status_code == 200


def test_form_post_response_mode_carries_errors(client, setup):
    tenant, rp = setup
    response = _get(client, tenant, _base_params(rp, response_mode="form_post", scope="openid admin"))
    fields = _assert_form_post_page(response)
    assert fields["error"] == "invalid_scope"
    assert fields["state"] == "st-123"
    assert fields["iss"] == f"http://testserver/t/{tenant.name}"


def test_form_post_escapes_state(client, setup):
    tenant, rp = setup
    state = '"><script>alert(1)</script>'
    response = _get(
        client, tenant, _base_params(rp, response_mode="form_post", response_type="x", state=state)
    )
    fields = _assert_form_post_page(response)
    assert fields["state"] == state
    assert "<script>alert(1)" not in response.text


def test_redirect_uri_with_query_keeps_its_parameters(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    uri = "https://rp.example.com/cb?tenant=acme&x=1"
    rp = factory.client(tenant, redirect_uris=[uri])
    flow = Flow(client, tenant.name)

    result = flow.login(rp, "alice", redirect_uri=uri)

    assert result.location.startswith("https://rp.example.com/cb?tenant=acme&x=1&")
    assert result.params["tenant"] == "acme"
    assert result.params["x"] == "1"
    assert "code" in result.params
    ok = flow.exchange(rp, result, redirect_uri=uri)
    assert ok.status_code == 200, ok.text

    error = _get(client, tenant, _base_params(rp, redirect_uri=uri, response_type="token"))
    query = _query(error.headers["location"])
    assert query["tenant"] == ["acme"]
    assert query["error"] == ["unsupported_response_type"]


def test_successful_code_redirect_has_iss_and_state(client, setup):
    tenant, rp = setup
    flow = Flow(client, tenant.name)
    result = flow.login(rp, "alice", state="abc")
    assert result.location.startswith(REDIRECT_URI + "?")
    assert result.params["state"] == "abc"
    assert result.params["iss"] == f"http://testserver/t/{tenant.name}"
    assert set(result.params) == {"code", "state", "iss"}


def test_code_is_single_use(client, setup):
    tenant, rp = setup
    flow = Flow(client, tenant.name)
    result = flow.login(rp, "alice")
    first = flow.exchange(rp, result)
    assert first.status_code == 200
    second = flow.exchange(rp, result)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_a_client_registered_after_a_failed_lookup_works_at_once(client, factory):
    tenant = factory.tenant()
    params = {
        "client_id": "late-app",
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
    }
    assert client.get(f"/t/{tenant.name}/authorize", params=params).status_code == 400  # unknown client

    factory.client(tenant, client_id="late-app")

    response = client.get(f"/t/{tenant.name}/authorize", params=params)
    assert response.status_code == 303 and "/interaction/" in response.headers["location"]
