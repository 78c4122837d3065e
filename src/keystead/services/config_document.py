"""The configuration document of :mod:`keystead.services.tenant_config`: its models (strict:
unknown keys and wrong types are refused naming the field), the differences an import makes,
and YAML in and out (``yaml.safe_load``/``safe_dump`` only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from keystead.errors import InvalidInput
from keystead.ports.records import Client

FORMAT_VERSION = 1
CLIENT_FIELDS = (
    "client_id",
    "name",
    "client_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "scopes",
    "first_party",
    "id_token_alg",
    "access_token_ttl",
    "id_token_ttl",
    "refresh_token_ttl",
    "status",
    "client_uri",
    "mfa",
    "minimum_acr",
    "risk",
)
MAX_CLIENTS = 1000

Text = Annotated[str, Strict()]
Uris = Annotated[list[Annotated[Text, Field(max_length=2048)]], Field(max_length=100)]


class ClientSpec(BaseModel):
    """A client as configuration: what ``create`` takes, never its secret."""

    model_config = ConfigDict(extra="forbid", strict=True)

    client_id: Annotated[Text, Field(min_length=1, max_length=255)]
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    client_type: Literal["confidential", "public"] = "confidential"
    redirect_uris: Uris = Field(default_factory=list)
    post_logout_redirect_uris: Uris = Field(default_factory=list)
    grant_types: Annotated[list[Text], Field(min_length=1, max_length=8)] = Field(
        default_factory=lambda: ["authorization_code", "refresh_token"]
    )
    scopes: Annotated[list[Annotated[Text, Field(max_length=255)]], Field(max_length=100)] = Field(
        default_factory=lambda: ["openid", "profile", "email", "offline_access"]
    )
    first_party: bool = False
    id_token_alg: Text = "ES256"
    access_token_ttl: int | None = None
    id_token_ttl: int | None = None
    refresh_token_ttl: int | None = None
    status: Literal["active", "disabled"] = "active"
    client_uri: Annotated[Text, Field(max_length=2048)] | None = None
    # sign-in strength (docs/risk.md#per-client), checked by Clients like the admin API's
    mfa: Literal["never", "when_enrolled", "always"] | None = None
    minimum_acr: Annotated[Text, Field(max_length=64)] | None = None
    risk: dict[str, Any] | None = None


class ConfigDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    keystead_config: Literal[1]
    tenant: Annotated[Text, Field(max_length=63)] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    clients: Annotated[list[ClientSpec], Field(max_length=MAX_CLIENTS)] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Change:
    """One difference the import makes: ``kind`` is ``settings``, ``create`` or ``update``."""

    kind: str
    target: str  # a dotted settings path, or a client_id
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    changes: tuple[Change, ...]
    applied: bool
    #: client_id -> the secret of a confidential client this import created (shown once)
    secrets: Mapping[str, str] = field(default_factory=dict)
    #: clients of the tenant that the document does not list (left alone)
    unlisted: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "changes": [
                {"kind": c.kind, "target": c.target, "before": c.before, "after": c.after}
                for c in self.changes
            ],
            "secrets": dict(self.secrets),
            "unlisted_clients": list(self.unlisted),
        }


def client_spec(client: Client) -> dict[str, Any]:
    """A client as configuration (JSON types; no secret, no internal id or timestamps)."""
    values = {name: getattr(client, name) for name in CLIENT_FIELDS}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def document(value: Any) -> ConfigDocument:
    if not isinstance(value, dict):
        raise InvalidInput("config", "a configuration document is an object (keystead_config: 1)")
    try:
        return ConfigDocument.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "config"
        raise InvalidInput(where, str(error["msg"])) from None


def dump_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` (no tags, no objects); a syntax error is ``InvalidInput``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput("config", f"not valid YAML: {str(exc).splitlines()[0]}") from None
