"""Secrets are never stored or logged in clear (DESIGN.md, security invariants).

A full flow hands out every kind of secret (client secret, password, session and CSRF cookies,
interaction handle, authorization code, access, refresh and ID tokens); then every row of every
table is read back and every log record is checked for any of those values.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import MetaData, select

from tests.support.factories import REDIRECT_URI
from tests.support.flow import Flow


def _full_flow(client, factory, keystead) -> tuple[dict[str, str], list[str]]:  # type: ignore[no-untyped-def]
    """Run everything that creates a secret; return the clear values by name, and some public
    values that *are* stored (to show the scan sees the rows of this flow)."""
    tenant = factory.tenant()
    password = f"pw-{secrets.token_urlsafe(18)}"
    user = factory.user(tenant, password=password)
    rp = factory.client(tenant)
    public = factory.client(tenant, client_type="public", name="SPA")
    flow = Flow(client, tenant.name)
    values: dict[str, str] = {"password": password, "client_secret": rp.secret}

    # an interaction whose handle we capture (the redirect to the hosted pages)
    start = flow.start(flow.authorize_params(rp, code_challenge=None))
    assert start.status_code == 303
    values["interaction_handle"] = start.headers["location"].rsplit("/", 1)[-1]
    result = flow.follow(start, username=user.username, password=password)
    values["code"] = result.code
    values["session_cookie"] = client.cookies.get("ks_session")
    values["csrf_cookie"] = client.cookies.get("ks_csrf")
    tokens = flow.exchange(rp, result).json()
    values["access_token"] = tokens["access_token"]
    values["refresh_token"] = tokens["refresh_token"]
    values["id_token"] = tokens["id_token"]

    # failures that log their details: a replayed code, a wrong secret, a reused refresh token
    assert flow.exchange(rp, result).status_code == 400
    wrong = client.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "client_credentials"},
        auth=(rp.client_id, rp.secret[::-1]),
    )
    assert wrong.status_code == 401
    values["wrong_secret"] = rp.secret[::-1]

    # a second grant: refresh rotation, then reuse of the old refresh token
    again = flow.login(rp, None)
    second = flow.exchange(rp, again).json()
    values["code_2"] = again.code
    rotated = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}).json()
    values["refresh_token_2"] = second["refresh_token"]
    values["refresh_token_3"] = rotated["refresh_token"]
    values["access_token_3"] = rotated["access_token"]
    reuse = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert reuse.status_code == 400

    # a public client's PKCE flow
    pkce = flow.login(public, None)
    values["code_pkce"] = pkce.code
    values["code_verifier"] = pkce.verifier
    public_tokens = flow.exchange(public, pkce).json()
    values["public_refresh_token"] = public_tokens["refresh_token"]

    # client credentials, introspection, userinfo and revocation calls
    cc = flow.token(rp, {"grant_type": "client_credentials", "scope": "api"}).json()
    values["cc_access_token"] = cc["access_token"]
    assert (
        client.post(
            f"/t/{tenant.name}/introspect",
            data={"token": rotated["refresh_token"]},
            auth=(rp.client_id, rp.secret),
        ).json()["active"]
        is False
    )  # its family was revoked by the reuse
    assert (
        client.get(
            f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {public_tokens['access_token']}"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/t/{tenant.name}/revoke",
            data={"token": public_tokens["refresh_token"], "client_id": public.client_id},
        ).status_code
        == 200
    )

    # a rotated client secret
    values["rotated_client_secret"] = keystead.clients.rotate_secret(tenant.id, rp.client_id).secret

    assert all(values.values()), {k for k, v in values.items() if not v}
    assert result.location.startswith(REDIRECT_URI)
    return values, [rp.client_id, user.username, tenant.name]


def _every_row(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every table of the database (reflected, so new tables are covered), every row, as text."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    dump: list[tuple[str, str]] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts = []
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    parts.append(str(value))
                dump.append((table.name, " | ".join(parts)))
    return dump


def test_no_secret_is_stored_in_clear(client, factory, keystead):
    values, public = _full_flow(client, factory, keystead)

    dump = _every_row(keystead.storage.engine)
    everything = "\n".join(text for _, text in dump)
    assert all(p in everything for p in public), "the scan does not see this flow's rows"

    tables = {name for name, _ in dump}
    assert {"users", "clients", "authorization_codes", "refresh_tokens", "sessions", "grants"} <= tables
    found = [(name, table) for table, text in dump for name, value in values.items() if value in text]
    assert found == [], f"secrets stored in clear: {found}"


def test_stored_forms_are_not_trivial_encodings(client, factory, keystead):
    """The stored form is a keyed hash: not the value, not its unkeyed SHA-256 or base64."""
    values, _ = _full_flow(client, factory, keystead)
    encodings = {}
    for name in ("code", "refresh_token", "session_cookie", "client_secret"):
        raw = values[name].encode()
        encodings[f"{name}:sha256"] = hashlib.sha256(raw).hexdigest()
        encodings[f"{name}:b64"] = base64.b64encode(raw).decode()

    dump = "\n".join(text for _, text in _every_row(keystead.storage.engine))

    assert [name for name, enc in encodings.items() if enc in dump] == []


def test_password_is_stored_as_argon2id(factory, keystead):
    tenant = factory.tenant()
    password = f"pw-{secrets.token_urlsafe(18)}"
    user = factory.user(tenant, password=password)

    stored = keystead.users.get(tenant.id, user.id).password_hash

    assert stored.startswith("$argon2id$")
    assert password not in stored


def test_no_secret_is_logged(client, factory, keystead, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("keystead", "sqlalchemy", "sqlalchemy.engine", "starlette", "uvicorn", "anyio"):
        caplog.set_level(logging.DEBUG, logger=name)

    values, public = _full_flow(client, factory, keystead)

    # httpx is the test's own HTTP client (it logs the URLs it requests), not the server
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(_record_text(r) for r in records)
    assert any(r.name.startswith("keystead") for r in records), "nothing logged: a vacuous check"
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL parameters not captured"
    assert "invalid_grant" in text, "the replay and reuse failures should be logged"
    assert public[0] in text, "SQL parameters are in the captured text"
    leaked = [name for name, value in values.items() if value in text]
    assert leaked == [], f"secrets in logs: {leaked}"


def _record_text(record: logging.LogRecord) -> str:
    parts: list[Any] = [record.getMessage(), repr(record.args)]
    if record.exc_text:
        parts.append(record.exc_text)
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts.extend(repr(v) for k, v in vars(record).items() if k not in _STANDARD_ATTRS)
    return "\n".join(str(p) for p in parts)


_STANDARD_ATTRS = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
}
