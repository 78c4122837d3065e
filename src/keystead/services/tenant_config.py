"""Configuration as code: a tenant's settings (the login flow included) and its clients as one
document, exported and imported (docs/config-as-code.md).

The document (JSON, or YAML through ``yaml.safe_load``/``safe_dump``)::

    keystead_config: 1
    tenant: acme                 # informative on import: the target tenant is chosen by the caller
    settings: {...}              # the effective settings, as GET /settings shows them (no version)
    clients: [{client_id: ..., name: ..., redirect_uris: [...], ...}]   # never a secret

Import is **validate, then apply**: every part is checked first (the settings as a merge patch,
each client as ``create``/``update`` would check it) and the first problem raises
:class:`InvalidInput` naming its field (``settings.tokens.code_ttl``, ``clients.2.redirect_uris``)
with nothing written. Then only what differs is written: the settings in one compare-and-set
(``Stale`` if they changed since they were read), new clients created (their secret returned
once, in :class:`ImportResult`), changed clients updated under compare-and-set. Importing the
same document again changes nothing. Clients that are not in the document are left alone (an
import never deletes); the console's own client is neither exported nor imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keystead.errors import InvalidInput
from keystead.ports.records import Client
from keystead.services.audit import Actor, Audit
from keystead.services.clients import UPDATABLE, Clients
from keystead.services.config_document import (
    FORMAT_VERSION,
    Change,
    ClientSpec,
    ConfigDocument,
    ImportResult,
    client_spec,
    document,
)
from keystead.services.console_access import CONSOLE_CLIENT_ID
from keystead.services.tenant_settings import TenantSettingsService

AUDIT_ACTION = "tenant.config.import"


@dataclass(frozen=True, slots=True)
class _Plan:
    settings_patch: dict[str, Any] | None
    settings_version: int
    creates: tuple[ClientSpec, ...]
    updates: tuple[tuple[Client, dict[str, Any]], ...]
    changes: tuple[Change, ...]
    unlisted: tuple[str, ...]


class TenantConfig:
    def __init__(self, settings: TenantSettingsService, clients: Clients, audit: Audit) -> None:
        self._settings = settings
        self._clients = clients
        self._audit = audit

    def export(self, tenant_id: str, tenant_name: str) -> dict[str, Any]:
        settings = self._settings.read(tenant_id).to_json()
        settings.pop("version", None)
        clients = sorted(
            (c for c in self._clients.list(tenant_id) if c.client_id != CONSOLE_CLIENT_ID),
            key=lambda c: c.client_id,
        )
        return {
            "keystead_config": FORMAT_VERSION,
            "tenant": tenant_name,
            "settings": settings,
            "clients": [client_spec(c) for c in clients],
        }

    def import_(self, tenant_id: str, config: Any, actor: Actor, *, dry_run: bool = False) -> ImportResult:
        """Check everything, then (unless ``dry_run``) apply only the differences."""
        plan = self._plan(tenant_id, document(config))
        if dry_run or not plan.changes:
            return ImportResult(plan.changes, applied=False, unlisted=plan.unlisted)
        if plan.settings_patch is not None:
            self._settings.update(tenant_id, plan.settings_patch, expected_version=plan.settings_version)
        secrets: dict[str, str] = {}
        for spec in plan.creates:
            created = self._clients.create(tenant_id, spec.name, **_create_args(spec))
            if created.secret is not None:
                secrets[spec.client_id] = created.secret
            if spec.status != created.client.status:
                self._clients.update(tenant_id, spec.client_id, expected=created.client, status=spec.status)
        for existing, changes in plan.updates:
            self._clients.update(tenant_id, existing.client_id, expected=existing, **changes)
        result = ImportResult(plan.changes, applied=True, secrets=secrets, unlisted=plan.unlisted)
        summary = [{"kind": c.kind, "target": c.target} for c in plan.changes]
        self._audit.record(tenant_id, actor, AUDIT_ACTION, tenant_id, after={"changes": summary})
        return result

    def _plan(self, tenant_id: str, document: ConfigDocument) -> _Plan:
        current = self._settings.read(tenant_id)
        before = current.to_json()
        before.pop("version", None)
        patch = dict(document.settings)
        removed = set(before.get("client_login_flows") or {}) - set(patch.get("client_login_flows") or {})
        if "client_login_flows" in patch and removed:
            patch["client_login_flows"] = {**(patch["client_login_flows"] or {}), **dict.fromkeys(removed)}
        try:
            after = self._settings.preview(tenant_id, patch).to_json()
        except InvalidInput as invalid:
            raise InvalidInput(f"settings.{invalid.field}", invalid.description) from None
        after.pop("version", None)
        changes = [Change("settings", path, old, new) for path, old, new in _differences(before, after)]
        creates, updates = self._client_changes(tenant_id, document.clients, changes)
        listed = {spec.client_id for spec in document.clients}
        unlisted = tuple(
            sorted(
                c.client_id
                for c in self._clients.list(tenant_id)
                if c.client_id not in listed and c.client_id != CONSOLE_CLIENT_ID
            )
        )
        settings_changed = any(c.kind == "settings" for c in changes)
        return _Plan(
            patch if settings_changed else None,
            current.version,
            tuple(creates),
            tuple(updates),
            tuple(changes),
            unlisted,
        )

    def _client_changes(
        self, tenant_id: str, specs: list[ClientSpec], changes: list[Change]
    ) -> tuple[list[ClientSpec], list[tuple[Client, dict[str, Any]]]]:
        existing = {c.client_id: c for c in self._clients.list(tenant_id)}
        creates: list[ClientSpec] = []
        updates: list[tuple[Client, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, spec in enumerate(specs):
            where = f"clients.{index}"
            if spec.client_id == CONSOLE_CLIENT_ID:
                raise InvalidInput(f"{where}.client_id", "the console's client is managed by Keystead")
            if spec.client_id in seen:
                raise InvalidInput(f"{where}.client_id", "listed twice")
            seen.add(spec.client_id)
            old = existing.get(spec.client_id)
            if old is not None and spec.client_type != old.client_type:
                raise InvalidInput(f"{where}.client_type", "a client's type cannot be changed")
            wanted = {k: v for k, v in spec.model_dump().items() if k != "client_id" and v is not None}
            try:
                desired = self._clients.preview(tenant_id, spec.client_id, wanted, old)
            except InvalidInput as invalid:
                raise InvalidInput(f"{where}.{invalid.field}", invalid.description) from None
            if old is None:
                creates.append(spec)
                changes.append(Change("create", spec.client_id, None, client_spec(desired)))
                continue
            diff = {
                f: getattr(desired, f) for f in sorted(UPDATABLE) if getattr(desired, f) != getattr(old, f)
            }
            if diff:
                updates.append((old, diff))
                was, now = client_spec(old), client_spec(desired)
                changes.append(
                    Change("update", spec.client_id, {f: was[f] for f in diff}, {f: now[f] for f in diff})
                )
        return creates, updates


def _create_args(spec: ClientSpec) -> dict[str, Any]:
    args = spec.model_dump(exclude={"name", "status"})
    return {k: v for k, v in args.items() if v is not None}


def _differences(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Dotted paths where two JSON values differ (objects compared key by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after)):
            out += _differences(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return out
    return [] if before == after else [(path, before, after)]
