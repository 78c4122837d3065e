"""One row of a user import: a JSON object on one line of a JSON Lines file, checked with the
same rules as users created one by one (:mod:`keystead.services.validation`,
:mod:`keystead.services.users`), each refusal naming its line, field and reason.

Fields: ``username`` (required), ``id`` (keeps a user's subject when moving between Keystead
servers), ``email``, ``email_verified``, ``given_name``, ``family_name``, ``name``,
``phone_number``, ``phone_number_verified``, ``locale``, ``address``, ``status`` (``active`` |
``disabled``), ``roles``, and at most one
of ``password`` (plain, hashed with argon2id at import), ``password_hash`` (argon2, bcrypt or
PBKDF2, kept as it is) or ``credentials`` (Keycloak's). Any other field is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from keystead.errors import InvalidInput
from keystead.services import validation
from keystead.services.password_formats import HashFormatError, canonical
from keystead.services.passwords import MAX_PASSWORD_LENGTH
from keystead.services.user_import_keycloak import password_hash_from_credentials
from keystead.services.users import MIN_PASSWORD_LENGTH

MAX_LINE_BYTES = 64 * 1024
MAX_ROLES = 50
TEXT_FIELDS = ("given_name", "family_name", "name", "phone_number", "locale")
FIELDS = frozenset(
    {
        "id",
        "username",
        "email",
        "email_verified",
        "status",
        "roles",
        "address",
        "phone_number_verified",
        "password",
        "password_hash",
        "credentials",
    }
    | set(TEXT_FIELDS)
)
SECRET_FIELDS = ("password", "password_hash", "credentials")
ADDRESS_FIELDS = frozenset({"formatted", "street_address", "locality", "region", "postal_code", "country"})
_ROLE = re.compile(r"^[a-z][a-z0-9:_-]{0,62}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a line was not imported; never carries a password or a hash."""

    line: int | None
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    username: str
    id: str | None = None
    email: str | None = None
    email_verified: bool = False
    status: str = "active"
    roles: tuple[str, ...] = ()
    phone_number_verified: bool = False
    address: dict[str, str] | None = None
    profile: dict[str, str | None] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    text: bytes | None  # None: the line was longer than the limit


def read_lines(stream: IO[bytes], *, max_line: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """The non-blank lines of ``stream`` with their numbers (1-based), reading at most
    ``max_line`` bytes of any line into memory."""
    number = 0
    while True:
        chunk = stream.readline(max_line + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_line and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line
                chunk = stream.readline(max_line)
            yield Line(number, None)
            continue
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        if chunk.strip():
            yield Line(number, chunk)


def parse_lines(lines: Iterable[Line]) -> Iterator[ImportRow | RowError]:
    for line in lines:
        yield parse_line(line)


def parse_line(line: Line) -> ImportRow | RowError:
    if line.text is None:
        return RowError(line.number, None, f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        text = line.text.decode("utf-8")
    except UnicodeDecodeError:
        return RowError(line.number, None, "not UTF-8")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return RowError(line.number, None, "not a JSON object")
    if not isinstance(value, dict):
        return RowError(line.number, None, "not a JSON object")
    try:
        return parse_row(line.number, value)
    except InvalidInput as exc:
        return RowError(line.number, exc.field, exc.description)


def parse_row(number: int, value: dict[str, Any]) -> ImportRow:
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise InvalidInput(unknown[0], "unknown field")
    if "username" not in value:
        raise InvalidInput("username", "required")
    username = validation.username(_text(value, "username", 255, required=True) or "")
    secrets = [name for name in SECRET_FIELDS if value.get(name) is not None]
    if len(secrets) > 1:
        raise InvalidInput(
            secrets[1], f"give one of password, password_hash or credentials, not {secrets[0]} too"
        )
    return ImportRow(
        line=number,
        username=username,
        id=_user_id(value.get("id")),
        email=validation.email(_text(value, "email", 320)),
        email_verified=_bool(value, "email_verified"),
        status=_status(value.get("status", "active")),
        roles=_roles(value.get("roles")),
        phone_number_verified=_bool(value, "phone_number_verified"),
        address=_address(value.get("address")),
        profile={name: _text(value, name, 255) for name in TEXT_FIELDS if name in value},
        password=_password(value.get("password")),
        password_hash=_password_hash(value),
    )


def _text(value: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    text = value.get(name)
    if text is None and not required:
        return None
    if not isinstance(text, str):
        raise InvalidInput(name, "must be a string")
    if len(text) > limit or "\x00" in text:
        raise InvalidInput(name, f"must be at most {limit} characters, without NUL")
    return text


def _bool(value: dict[str, Any], name: str) -> bool:
    flag = value.get(name, False)
    if not isinstance(flag, bool):
        raise InvalidInput(name, "must be true or false")
    return flag


def _user_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidInput("id", "ids are 1-36 letters, digits, '-' and '_'")
    return value


def _status(value: Any) -> str:
    if value not in ("active", "disabled"):
        raise InvalidInput("status", "status is active or disabled")
    return str(value)


def _roles(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ROLES:
        raise InvalidInput("roles", f"roles is a list of at most {MAX_ROLES} role names")
    for role in value:
        if not isinstance(role, str) or not _ROLE.match(role):
            raise InvalidInput(
                "roles", "role names are a lowercase letter then letters, digits, ':', '_', '-'"
            )
    return tuple(dict.fromkeys(value))


def _address(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("address", "address is an object")
    unknown = sorted(set(value) - ADDRESS_FIELDS)
    if unknown:
        raise InvalidInput(f"address.{unknown[0]}", "unknown field")
    try:
        return {name: text for name in sorted(value) if (text := _text(value, name, 255)) is not None}
    except InvalidInput as exc:
        raise InvalidInput(f"address.{exc.field}", exc.description) from None


def _password(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not MIN_PASSWORD_LENGTH <= len(value) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            "password", f"passwords are {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    if "\x00" in value:
        raise InvalidInput("password", "must not contain NUL")
    return value


def _password_hash(value: dict[str, Any]) -> str | None:
    try:
        if value.get("credentials") is not None:
            return password_hash_from_credentials(value["credentials"])
        stored = value.get("password_hash")
        if stored is None:
            return None
        if not isinstance(stored, str) or len(stored) > 1024:
            raise HashFormatError("must be a string of at most 1024 characters")
        return canonical(stored)
    except HashFormatError as exc:
        name = "credentials" if value.get("credentials") is not None else "password_hash"
        raise InvalidInput(name, str(exc)) from None
