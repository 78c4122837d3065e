"""Malformed and hostile input: oversized, duplicated, badly encoded or too many parameters,
wrong content types and oversized bodies. Every case is a clean 4xx, never a 500, never a
redirect to an unchecked URI."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import pytest

from tests.support.factories import REDIRECT_URI
from tests.support.flow import Flow


def params_for(rp, **extra):
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "state": "m1",
    }
    params.update(extra)
    return params


def assert_error_page(response, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "invalid_request" in response.text


def redirect_error(response) -> dict[str, str]:
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def env(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant)
    return tenant, rp


# oversized parameters
@pytest.mark.parametrize(
    "name", ["nonce", "claims", "login_hint", "acr_values", "ui_locales", "prompt", "scope"]
)
def test_oversized_parameter_is_invalid_request(client, env, name):
    tenant, rp = env
    response = client.get(f"/t/{tenant.name}/authorize?{urlencode(params_for(rp, **{name: 'x' * 4097}))}")
    error = redirect_error(response)
    assert error["error"] == "invalid_request"
    assert name in error["error_description"]
    assert error["state"] == "m1"


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_oversized_client_id_or_redirect_uri_is_an_error_page(client, env, name):
    tenant, rp = env
    response = client.get(f"/t/{tenant.name}/authorize?{urlencode(params_for(rp, **{name: 'x' * 5000}))}")
    assert_error_page(response)


def test_oversized_token_parameters_are_invalid_request(client, env):
    tenant, rp = env
    response = client.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "authorization_code", "code": "c" * 5000, "redirect_uri": REDIRECT_URI},
        auth=(rp.client_id, rp.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# encodings
@pytest.mark.parametrize("raw", ["state=%ff", "client_id=%c3%28", "scope=openid%80", "x=%ed%a0%80"])
def test_invalid_utf8_in_query_is_an_error_page(client, env, raw):
    tenant, rp = env
    query = urlencode(params_for(rp)) + "&" + raw
    assert_error_page(client.get(f"/t/{tenant.name}/authorize?{query}"))


def test_invalid_utf8_in_token_body_is_invalid_request(client, env):
    tenant, rp = env
    response = client.post(
        f"/t/{tenant.name}/token",
        content=b"grant_type=client_credentials&scope=%ff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def _asgi_get(app, path: str, query: bytes) -> tuple[int, list[tuple[bytes, bytes]]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], start["headers"]


def test_raw_non_ascii_bytes_in_query_are_an_error_page(app, env):
    tenant, rp = env
    query = urlencode(params_for(rp)).encode() + b"&state=\xff\xfe"
    status, headers = anyio.run(_asgi_get, app, f"/t/{tenant.name}/authorize", query)
    assert status == 400
    assert b"location" not in {name.lower() for name, _ in headers}


def test_crlf_in_state_cannot_inject_headers(client, env):
    tenant, rp = env
    state = "a\r\nSet-Cookie: pwned=1"
    response = client.get(
        f"/t/{tenant.name}/authorize?{urlencode(params_for(rp, state=state, response_type='x'))}"
    )
    assert response.status_code == 303
    assert "pwned" not in response.headers.get("set-cookie", "")
    assert "\r" not in response.headers["location"]
    assert "\n" not in response.headers["location"]
    assert redirect_error(response)["state"] == state


# content types
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"client_id": "x"}', "application/json"),
        (b"client_id=x", "text/plain"),
        (b"client_id=x", None),
        (
            b'--b\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nx\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
    ],
)
def test_wrong_content_type_on_post_authorize_is_an_error_page(client, env, content, content_type):
    tenant, _ = env
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(f"/t/{tenant.name}/authorize", content=content, headers=headers)
    assert_error_page(response)


def test_form_content_type_with_charset_is_accepted(client, env):
    tenant, rp = env
    response = client.post(
        f"/t/{tenant.name}/authorize",
        content=urlencode(params_for(rp)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{tenant.name}/interaction/")


def test_wrong_content_type_at_token_endpoint(client, env):
    tenant, rp = env
    response = client.post(
        f"/t/{tenant.name}/token", json={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# parameter counts
def _many(rp, count: int) -> str:
    base = params_for(rp)
    extra = [(f"x{i}", "1") for i in range(count - len(base))]
    return urlencode([*base.items(), *extra])


def test_too_many_parameters_is_an_error_page(client, env):
    tenant, rp = env
    assert_error_page(client.get(f"/t/{tenant.name}/authorize?{_many(rp, 65)}"))
    assert_error_page(client.get(f"/t/{tenant.name}/authorize?{_many(rp, 500)}"))


def test_sixty_four_parameters_are_accepted(client, env):
    tenant, rp = env
    response = client.get(f"/t/{tenant.name}/authorize?{_many(rp, 64)}")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{tenant.name}/interaction/")


def test_too_many_parameters_in_post_bodies(client, env):
    tenant, rp = env
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    authz = client.post(f"/t/{tenant.name}/authorize", content=_many(rp, 65).encode(), headers=form)
    assert_error_page(authz)
    body = "&".join(["grant_type=client_credentials", *[f"x{i}=1" for i in range(70)]])
    token = client.post(
        f"/t/{tenant.name}/token", content=body.encode(), headers=form, auth=(rp.client_id, rp.secret)
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"


def test_many_duplicate_parameters_are_refused(client, env):
    tenant, rp = env
    query = urlencode([*params_for(rp).items(), *[("scope", "openid")] * 10])
    error = redirect_error(client.get(f"/t/{tenant.name}/authorize?{query}"))
    assert error["error"] == "invalid_request"


# body size
def test_oversized_body_is_413(client, env, keystead):
    tenant, rp = env
    limit = keystead.settings.server.max_body_bytes
    big = urlencode(params_for(rp, nonce="n" * (limit + 10))).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/authorize", "/token", "/logout", "/introspect", "/revoke"):
        response = client.post(f"/t/{tenant.name}{path}", content=big, headers=form)
        assert response.status_code == 413, (path, response.status_code)
        assert response.json()["error"] == "invalid_request"
        assert "location" not in response.headers


def test_oversized_chunked_body_is_413(client, env, keystead):
    tenant, _rp = env
    limit = keystead.settings.server.max_body_bytes
    chunk = b"x=" + b"y" * 8190

    def body():
        sent = 0
        while sent <= limit + len(chunk):
            sent += len(chunk)
            yield chunk

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/authorize", "/token"):
        response = client.post(f"/t/{tenant.name}{path}", content=body(), headers=form)
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, (path, response.status_code, response.text[:200])


def test_oversized_interaction_form_is_413(client, env, keystead):
    tenant, rp = env
    start = client.get(f"/t/{tenant.name}/authorize?{urlencode(params_for(rp))}")
    location = start.headers["location"]
    big = b"username=alice&password=" + b"p" * (keystead.settings.server.max_body_bytes + 1)
    response = client.post(
        location, content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert "ks_session" not in response.headers.get("set-cookie", "")


def test_invalid_content_length_is_refused(app, env):
    tenant, _ = env

    async def call():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/t/{tenant.name}/token",
            "raw_path": f"/t/{tenant.name}/token".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-length", b"-1")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        return next(m for m in sent if m["type"] == "http.response.start")["status"]

    assert anyio.run(call) == 413


# credentials in odd shapes
@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic",
        "Bearer abc",
        "Basic " + "A" * 10000,
    ],
)
def test_malformed_client_authentication_is_a_clean_error(client, env, header):
    tenant, _ = env
    response = client.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": header},
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client", "invalid_request")


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "Bearer " + "x" * 20000, "Token abc", "Bearer \x7f"]
)
def test_malformed_bearer_token_is_a_clean_error(client, env, header):
    tenant, _ = env
    response = client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": header})
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_token", "invalid_request")


def test_unknown_grant_type_and_missing_grant_type(client, env):
    tenant, rp = env
    flow = Flow(client, tenant.name)
    unknown = flow.token(rp, {"grant_type": "password", "username": "a", "password": "b"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_grant_type"
    missing = flow.token(rp, {})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_interaction_handle_oddities(client, env):
    tenant, _ = env
    for handle in ("x" * 200, "%ff", "..%2f..%2fetc"):
        client.cookies.set("ks_interaction", handle)
        response = client.get(f"/t/{tenant.name}/interaction/{handle}")
        assert response.status_code in (400, 404), handle
        assert 'id="login-form"' not in response.text


# NUL characters (PostgreSQL text cannot hold them: they must be refused before any query)
@pytest.mark.parametrize("raw", ["client_id=%00", "state=a%00b", "nonce=%00", "x%00=1"])
def test_nul_in_authorize_parameters_is_an_error_page(client, env, raw):
    tenant, rp = env
    base = {k: v for k, v in params_for(rp).items() if not raw.startswith(k + "=")}
    assert_error_page(client.get(f"/t/{tenant.name}/authorize?{urlencode(base)}&{raw}"))


def test_nul_in_login_form_is_refused(client, env):
    tenant, rp = env
    location = client.get(f"/t/{tenant.name}/authorize?{urlencode(params_for(rp))}").headers["location"]
    client.get(location)
    response = client.post(
        location,
        content=b"username=alice%00&password=x&csrf_token=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "ks_session" not in response.headers.get("set-cookie", "")


def test_nul_in_client_credentials_is_refused(client, env):
    tenant, _rp = env
    url = f"/t/{tenant.name}/token"
    in_body = client.post(
        url,
        content=b"grant_type=client_credentials&client_id=a%00b&client_secret=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert in_body.status_code == 400
    assert in_body.json()["error"] == "invalid_request"
    basic = "Basic " + base64.b64encode(b"a%00b:secret").decode()
    in_header = client.post(url, data={"grant_type": "client_credentials"}, headers={"Authorization": basic})
    assert in_header.status_code == 401
    assert in_header.json()["error"] == "invalid_client"


def test_non_ascii_basic_credentials_are_invalid_client(client, factory):
    tenant = factory.tenant()
    response = client.post(
        f"/t/{tenant.name}/token",
        content=b"grant_type=client_credentials",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": b"Basic \xc3\xa9t\xc3\xa9",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
