"""Keycloak's password credentials, as its realm exports write them, turned into Keystead's stored
hash strings (:mod:`keystead.services.password_formats`).

A Keycloak user representation carries ``credentials``: a list of objects whose ``secretData``
and ``credentialData`` are JSON documents (strings in exports; objects are accepted too)::

    {"type": "password",
     "secretData": "{\\"value\\":\\"<base64 hash>\\",\\"salt\\":\\"<base64 salt>\\"}",
     "credentialData": "{\\"hashIterations\\":27500,\\"algorithm\\":\\"pbkdf2-sha256\\"}"}

Algorithms: ``pbkdf2-sha256`` and ``pbkdf2-sha512`` (PBKDF2, the key length is the hash's) and
``argon2`` (Keycloak 24+; its parameters in ``additionalParameters``). Legacy ``pbkdf2``
(HMAC-SHA1) and anything else is refused with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson

from keystead.services.password_formats import HashFormatError, Pbkdf2, argon2_phc, checked_pbkdf2, unb64

CREDENTIAL_KEYS = frozenset(
    {
        "id",
        "type",
        "userLabel",
        "createdDate",
        "secretData",
        "credentialData",
        "priority",
        "temporary",
        "value",
    }
)
_ARGON2_KINDS = {"id": "argon2id", "i": "argon2i"}
_ARGON2_VERSIONS = {"1.3": 19, "1.0": 16}


def password_hash_from_credentials(credentials: Any) -> str | None:
    """The stored hash for a Keycloak ``credentials`` list (``None`` when it has no password)."""
    if not isinstance(credentials, list) or len(credentials) > 10:
        raise HashFormatError("credentials is a list of Keycloak credential objects")
    found: str | None = None
    for credential in credentials:
        if not isinstance(credential, dict):
            raise HashFormatError("each credential is an object")
        unknown = set(credential) - CREDENTIAL_KEYS
        if unknown:
            raise HashFormatError(f"unknown credential field {sorted(unknown)[0]!r}")
        if credential.get("type") != "password":
            raise HashFormatError("only credentials of type 'password' can be imported")
        if found is not None:
            raise HashFormatError("more than one password credential")
        found = _password_hash(credential)
    return found


def _password_hash(credential: Mapping[str, Any]) -> str:
    if "value" in credential:
        raise HashFormatError("plain credential values are not accepted here: use 'password'")
    secret = _document(credential.get("secretData"), "secretData")
    data = _document(credential.get("credentialData"), "credentialData")
    algorithm = data.get("algorithm")
    iterations = data.get("hashIterations")
    if not isinstance(iterations, int) or isinstance(iterations, bool):
        raise HashFormatError("credentialData.hashIterations must be an integer")
    salt = unb64(_text(secret, "salt"), "secretData.salt")
    key = unb64(_text(secret, "value"), "secretData.value")
    if algorithm in ("pbkdf2-sha256", "pbkdf2-sha512"):
        digest: Literal["sha256", "sha512"] = "sha256" if algorithm == "pbkdf2-sha256" else "sha512"
        return checked_pbkdf2(Pbkdf2(digest, iterations, salt, key)).encode()
    if algorithm == "argon2":
        return _argon2(data, iterations, salt, key)
    raise HashFormatError(f"unsupported Keycloak algorithm {str(algorithm)[:40]!r}")


def _argon2(data: Mapping[str, Any], iterations: int, salt: bytes, key: bytes) -> str:
    extra = data.get("additionalParameters") or {}
    if not isinstance(extra, dict):
        raise HashFormatError("credentialData.additionalParameters must be an object")
    kind = _ARGON2_KINDS.get(_param(extra, "type", "id"))
    version = _ARGON2_VERSIONS.get(_param(extra, "version", "1.3"))
    if kind is None or version is None:
        raise HashFormatError("unsupported argon2 type or version")
    try:
        memory = int(_param(extra, "memory", "7168"))
        parallelism = int(_param(extra, "parallelism", "1"))
    except ValueError:
        raise HashFormatError("argon2 memory and parallelism must be integers") from None
    return argon2_phc(kind, version, memory, iterations, parallelism, salt, key)


def _param(extra: Mapping[str, Any], name: str, default: str) -> str:
    """Keycloak writes each additional parameter as a list of one string."""
    value = extra.get(name, [default])
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise HashFormatError(f"additionalParameters.{name} is malformed")
    return str(value)


def _document(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise HashFormatError(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise HashFormatError(f"{name} must be a JSON object")
    return value


def _text(secret: Mapping[str, Any], name: str) -> str:
    value = secret.get(name)
    if not isinstance(value, str) or not value:
        raise HashFormatError(f"secretData.{name} must be a base64 string")
    return value
