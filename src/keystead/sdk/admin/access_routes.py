"""Request builders for sessions, consents and grants, signing keys, tenant settings and user
import/export (sans-IO, like :mod:`keystead.sdk.admin.routes`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import httpx

from keystead.sdk.admin._core import MERGE_PATCH, Call, Engine, json_object, new_idempotency_key, no_content
from keystead.sdk.admin.access_models import (
    Consent,
    Grant,
    ImportJob,
    Session,
    SigningKey,
    TenantSettings,
)
from keystead.sdk.admin.models import Page, User
from keystead.sdk.admin.routes import page_of, query

NDJSON = "application/x-ndjson"
#: What ``import_jsonl`` accepts: JSON Lines as bytes or text, or the rows themselves.
ImportSource = bytes | str | Iterable[Mapping[str, Any]]


class SettingsChanges(TypedDict, total=False):
    """A merge patch of a tenant's settings: groups merge, ``None`` returns to the default."""

    tokens: Mapping[str, int | None] | None
    password_hashing: Mapping[str, int | None] | None
    password_policy: Mapping[str, int | None] | None
    login_methods: list[str]
    branding: Mapping[str, str | None] | None
    mfa: str | None
    risk: Mapping[str, Any] | None


def _user_id(user: User | str) -> str:
    return user.id if isinstance(user, User) else user


def _items(parse: Any) -> Any:
    def read(response: httpx.Response) -> tuple[Any, ...]:
        items = json_object(response).get("items")
        return tuple(parse(i) for i in items) if isinstance(items, list) else ()

    return read


class SessionRoutes:
    """``/tenants/{tenant}/users/{id}/sessions`` and ``/tenants/{tenant}/sessions/{id}``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def page(self, user: User | str, page_size: int | None, cursor: str | None) -> Call[Page[Session]]:
        url = self._engine.url("tenants", self.tenant, "users", _user_id(user), "sessions")
        return Call("GET", url, page_of(Session.from_json), params=query({"page_size": page_size}, cursor))

    def revoke(self, session: Session | str) -> Call[None]:
        session_id = session.id if isinstance(session, Session) else session
        return Call("DELETE", self._engine.url("tenants", self.tenant, "sessions", session_id), no_content)

    def revoke_all(self, user: User | str) -> Call[None]:
        url = self._engine.url("tenants", self.tenant, "users", _user_id(user), "sessions")
        return Call("DELETE", url, no_content)


class ConsentRoutes:
    """``/tenants/{tenant}/users/{id}/consents`` and ``.../grants``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def _url(self, user: User | str, *rest: str) -> str:
        return self._engine.url("tenants", self.tenant, "users", _user_id(user), *rest)

    def consents(self, user: User | str, page_size: int | None, cursor: str | None) -> Call[Page[Consent]]:
        params = query({"page_size": page_size}, cursor)
        return Call("GET", self._url(user, "consents"), page_of(Consent.from_json), params=params)

    def revoke(self, user: User | str, client_id: str) -> Call[None]:
        return Call("DELETE", self._url(user, "consents", client_id), no_content)

    def grants(self, user: User | str, page_size: int | None, cursor: str | None) -> Call[Page[Grant]]:
        params = query({"page_size": page_size}, cursor)
        return Call("GET", self._url(user, "grants"), page_of(Grant.from_json), params=params)

    def revoke_grant(self, user: User | str, grant: Grant | str) -> Call[None]:
        grant_id = grant.id if isinstance(grant, Grant) else grant
        return Call("DELETE", self._url(user, "grants", grant_id), no_content)


class KeyRoutes:
    """``/tenants/{tenant}/keys``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def list(self) -> Call[tuple[SigningKey, ...]]:
        return Call("GET", self._engine.url("tenants", self.tenant, "keys"), _items(SigningKey.from_json))

    def rotate(self) -> Call[tuple[str, ...]]:
        def kids(response: httpx.Response) -> tuple[str, ...]:
            rotated = json_object(response).get("rotated")
            return tuple(str(k["kid"]) for k in rotated) if isinstance(rotated, list) else ()

        url = self._engine.url("tenants", self.tenant, "keys", "rotate")
        return Call("POST", url, kids, idempotent=False)


def _settings(response: httpx.Response) -> TenantSettings:
    return TenantSettings.from_json(json_object(response), response.headers.get("etag"))


class SettingsRoutes:
    """``/tenants/{tenant}/settings``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def get(self) -> Call[TenantSettings]:
        return Call("GET", self._engine.url("tenants", self.tenant, "settings"), _settings)

    def update(self, settings: TenantSettings, changes: SettingsChanges) -> Call[TenantSettings]:
        if settings.etag is None:
            raise ValueError("update needs settings read with get() (or update): their ETag")
        return Call(
            "PATCH",
            self._engine.url("tenants", self.tenant, "settings"),
            _settings,
            json=dict(changes),
            headers={"If-Match": settings.etag},
            content_type=MERGE_PATCH,
            idempotent=False,
        )


def _job(response: httpx.Response) -> ImportJob:
    return ImportJob.from_json(json_object(response))


def jsonl(rows: ImportSource) -> bytes:
    """JSON Lines bytes from bytes, text, or rows (one JSON object per line)."""
    if isinstance(rows, bytes):
        return rows
    if isinstance(rows, str):
        return rows.encode()
    return b"".join(json.dumps(dict(row), separators=(",", ":")).encode() + b"\n" for row in rows)


class ImportRoutes:
    """``/tenants/{tenant}/users/import``, ``/users/export`` and ``/import-jobs``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def start(self, rows: ImportSource, source: str | None, idempotency_key: str | None) -> Call[ImportJob]:
        """A creating POST: its Idempotency-Key makes a retry start no second job."""
        return Call(
            "POST",
            self._engine.url("tenants", self.tenant, "users", "import"),
            _job,
            params={"source": source} if source is not None else None,
            content=jsonl(rows),
            content_type=NDJSON,
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
        )

    def get(self, job: ImportJob | str) -> Call[ImportJob]:
        job_id = job.id if isinstance(job, ImportJob) else job
        return Call("GET", self._engine.url("tenants", self.tenant, "import-jobs", job_id), _job)

    def page(self, page_size: int | None, cursor: str | None) -> Call[Page[ImportJob]]:
        url = self._engine.url("tenants", self.tenant, "import-jobs")
        return Call("GET", url, page_of(ImportJob.from_json), params=query({"page_size": page_size}, cursor))

    def export(self, include_password_hashes: bool) -> Call[None]:
        """A streamed answer: the clients read its lines themselves (``parse`` is unused)."""
        params = {"include_password_hashes": "true"} if include_password_hashes else None
        url = self._engine.url("tenants", self.tenant, "users", "export")
        return Call("GET", url, no_content, params=params, headers={"Accept": NDJSON})


def export_row(line: str) -> dict[str, Any]:
    row = json.loads(line)
    if not isinstance(row, dict):
        raise ValueError("an export line is not a JSON object")
    return row
