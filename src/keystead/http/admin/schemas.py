"""Request and response bodies of the admin API: strict, and unknown fields refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from keystead.http.admin.problems import TYPES
from keystead.http.admin.risk_schemas import ClientRiskIn


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_nul)]
Status = Literal["active", "disabled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Page(Strict):
    limit: int = Field(50, ge=1, le=200, description="Items per page")
    cursor: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None, description="`next_cursor` of the previous page"
    )


class PageQuery(Page):
    """``limit`` and ``cursor`` of a list without filters."""

    model_config = ConfigDict(extra="forbid", strict=False)


class UserFilters(Page):
    model_config = ConfigDict(extra="forbid", strict=False)

    email: Text | None = Field(None, description="Exact email, case-insensitive")
    username: Text | None = Field(None, description="Exact username, case-insensitive")
    username_prefix: Text | None = Field(None, description="Usernames starting with this")
    status: Status | None = None
    created_after: datetime | None = Field(None, description="Created at or after (RFC 3339)")
    created_before: datetime | None = Field(None, description="Created before (RFC 3339)")
    q: Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)] | None = Field(
        None,
        description="Free text: each word must start a word of the username, email or names",
    )

    def store_filters(self) -> dict[str, Any]:
        return {
            "q": self.q,
            "email": self.email,
            "username": self.username,
            "username_prefix": self.username_prefix,
            "status": self.status,
            "created_after": epoch(self.created_after),
            "created_before": epoch(self.created_before),
        }


class AuditFilters(Page):
    model_config = ConfigDict(extra="forbid", strict=False)

    action: Annotated[str, StringConstraints(max_length=64), AfterValidator(_no_nul)] | None = Field(
        None, description="e.g. `user.create`"
    )
    target: Text | None = Field(None, description="The id of the object acted on")


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    formatted: Text | None = None
    street_address: Text | None = None
    locality: Text | None = None
    region: Text | None = None
    postal_code: Text | None = None
    country: Text | None = None


Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9:_-]{0,62}$")]
Roles = Annotated[
    list[Role],
    Field(max_length=50, description='Role names, e.g. `"admin"` (may use the admin console)'),
]


class UserCreate(Strict):
    username: Text
    email: Text | None = None
    email_verified: bool = False
    password: Annotated[str, StringConstraints(max_length=1024), AfterValidator(_no_nul)] | None = Field(
        None, description="Optional; hashed with argon2id, never returned"
    )
    status: Status = "active"
    given_name: Text | None = None
    family_name: Text | None = None
    name: Text | None = None
    phone_number: Text | None = None
    locale: Text | None = None
    address: Address | None = None
    roles: Roles = Field(default_factory=list)


class UserPatch(Strict):
    """A JSON merge patch (RFC 7396): fields present are set, ``null`` clears a profile field."""

    username: Text | None = None
    email: Text | None = None
    email_verified: bool | None = None
    status: Status | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    name: Text | None = None
    phone_number: Text | None = None
    locale: Text | None = None
    address: Address | None = None
    roles: Roles | None = None


class UserOut(BaseModel):
    id: str
    username: str
    email: str | None
    email_verified: bool
    status: str
    given_name: str | None
    family_name: str | None
    name: str | None
    phone_number: str | None
    phone_number_verified: bool
    address: dict[str, Any] | None
    locale: str | None
    has_password: bool
    roles: list[str]
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class AuditEventOut(BaseModel):
    id: str
    actor: str
    action: str
    target: str | None
    ip: str | None
    created_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class ClientFilters(Page):
    model_config = ConfigDict(extra="forbid", strict=False)


Uri = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_no_nul)]
Name = Annotated[str, StringConstraints(max_length=128), AfterValidator(_no_nul)]
Ttl = Annotated[int, Field(ge=30, le=400 * 86400)]


class ClientFields(Strict):
    redirect_uris: list[Uri] | None = Field(None, max_length=50, description="Exact-match redirect URIs")
    post_logout_redirect_uris: list[Uri] | None = Field(None, max_length=50)
    grant_types: list[Name] | None = Field(None, max_length=10)
    scopes: list[Name] | None = Field(None, max_length=100)
    first_party: bool | None = Field(None, description="Skip the consent page")
    id_token_alg: Name | None = Field(None, description="e.g. `ES256`, `RS256`, `EdDSA`")
    access_token_ttl: Ttl | None = None
    id_token_ttl: Ttl | None = None
    refresh_token_ttl: Ttl | None = None
    client_uri: Uri | None = None
    mfa: Literal["never", "when_enrolled", "always"] | None = Field(
        None, description="Overrides the tenant's `mfa` for this client's sign-ins; `null`: the tenant's"
    )
    minimum_acr: Literal["urn:keystead:acr:pwd", "urn:keystead:acr:mfa"] | None = Field(
        None, description="Its requests ask for at least this `acr` (a step-up when the session has less)"
    )
    risk: ClientRiskIn | None = Field(
        None, description="Overrides of the tenant's risk policy (docs/risk.md)"
    )


class ClientCreate(ClientFields):
    name: Text
    client_type: Literal["confidential", "public"] = "confidential"
    client_id: Text | None = Field(None, description="Chosen by Keystead when absent")


class ClientPatch(ClientFields):
    """A JSON merge patch (RFC 7396) of the client's settings; its type and secret do not change
    here (rotate the secret with `POST .../secret`)."""

    name: Text | None = None
    status: Status | None = None


class ClientOut(BaseModel):
    id: str
    client_id: str
    name: str
    client_type: str
    status: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    first_party: bool
    id_token_alg: str
    access_token_ttl: int
    id_token_ttl: int
    refresh_token_ttl: int
    client_uri: str | None
    has_secret: bool
    created_at: datetime
    mfa: str | None = None
    minimum_acr: str | None = None
    risk: dict[str, Any] | None = None
    client_secret: str | None = Field(
        None, description="Only in the response that created or rotated it: shown once, never again"
    )


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None


class ClientSecretOut(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown once; only its keyed hash is stored")


class KeyOut(BaseModel):
    kid: str
    alg: str
    status: str = Field(description="`active` signs; `retired` is still published until `publish_until`")
    created_at: datetime
    publish_until: datetime | None


class KeyList(BaseModel):
    items: list[KeyOut]


class RotatedKey(BaseModel):
    kid: str
    alg: str


class KeyRotation(BaseModel):
    rotated: list[RotatedKey]


class SessionOut(BaseModel):
    id: str
    user_id: str
    created_at: datetime
    auth_time: datetime
    expires_at: datetime
    acr: str | None
    amr: list[str]


class SessionList(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class ConsentOut(BaseModel):
    client_id: str
    scopes: list[str]
    granted_at: datetime


class ConsentPage(BaseModel):
    items: list[ConsentOut]
    next_cursor: str | None


class GrantOut(BaseModel):
    id: str
    client_id: str
    user_id: str | None
    scopes: list[str]
    created_at: datetime
    session_id: str | None
    auth_time: datetime | None
    acr: str | None
    amr: list[str]


class GrantPage(BaseModel):
    items: list[GrantOut]
    next_cursor: str | None


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A stable URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = Field(
        None, description="For validation problems: `field`, `in` and `detail` of each offending field"
    )


def epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these problem statuses, and 429 (every route is
    rate-limited per client)."""
    titles: dict[int, str] = {}
    for status, title in TYPES.values():
        titles.setdefault(status, title)
    schema = {"$ref": "#/components/schemas/ProblemOut"}
    return {
        status: {"description": titles[status], "content": {"application/problem+json": {"schema": schema}}}
        for status in (*statuses, 429)
    }
