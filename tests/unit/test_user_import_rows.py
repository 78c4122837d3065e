"""Rows of a user import: whatever a line holds, the parser answers with a row or a reason
(never an exception), and Keycloak credentials that cannot be used are refused with one."""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.services.user_import_rows import ImportRow, Line, RowError, parse_line, read_lines

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["username", "email", "password", "password_hash", "credentials", "roles", "address", "status", "id"]
)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_row_or_a_reason(data: bytes) -> None:
    result = parse_line(Line(7, data))
    assert isinstance(result, ImportRow | RowError)
    assert result.line == 7


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(FIELDS, JSON, max_size=5))
def test_any_object_of_known_fields_gives_a_row_or_a_reason(value: dict[str, Any]) -> None:
    result = parse_line(Line(3, json.dumps(value).encode()))
    assert isinstance(result, ImportRow | RowError)
    if isinstance(result, RowError):
        assert result.reason and result.line == 3
        secret = value.get("password")
        if isinstance(secret, str) and len(secret) > 3:
            assert secret not in result.reason


def test_lines_are_numbered_blank_ones_skipped_and_a_bom_dropped() -> None:
    stream = io.BytesIO(b'\xef\xbb\xbf{"username": "a"}\n\n   \n{"username": "b"}')
    lines = list(read_lines(stream))
    assert [(line.number, line.text) for line in lines] == [
        (1, b'{"username": "a"}\n'),
        (4, b'{"username": "b"}'),
    ]


def test_a_long_line_is_skipped_to_its_end_without_being_held() -> None:
    stream = io.BytesIO(b"x" * 100 + b"\n" + b'{"username": "after"}\n')
    lines = list(read_lines(stream, max_line=30))
    assert [(line.number, line.text) for line in lines] == [(1, None), (2, b'{"username": "after"}\n')]


def keycloak(secret: Any, data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "username": "kc",
        "credentials": [{"type": "password", "secretData": secret, "credentialData": data, **extra}],
    }


GOOD_SECRET = {"value": "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA==", "salt": "c2FsdHNhbHQ="}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            keycloak("{not json", {"hashIterations": 1, "algorithm": "pbkdf2-sha256"}),
            "secretData is not valid JSON",
        ),
        (
            keycloak(GOOD_SECRET, {"hashIterations": 27500, "algorithm": "pbkdf2"}),
            "unsupported Keycloak algorithm",
        ),
        (keycloak(GOOD_SECRET, {"hashIterations": "many", "algorithm": "pbkdf2-sha256"}), "hashIterations"),
        (
            keycloak({"value": "", "salt": "c2FsdA=="}, {"hashIterations": 1, "algorithm": "pbkdf2-sha256"}),
            "value",
        ),
        (
            keycloak(GOOD_SECRET, {"hashIterations": 1, "algorithm": "pbkdf2-sha256"}, nonsense=1),
            "unknown credential",
        ),
        (
            keycloak(GOOD_SECRET, {"hashIterations": 1, "algorithm": "pbkdf2-sha256"}, value="plain"),
            "use 'password'",
        ),
        (
            keycloak(
                GOOD_SECRET,
                {"hashIterations": 2, "algorithm": "argon2", "additionalParameters": {"type": ["d"]}},
            ),
            "argon2 type",
        ),
        ({"username": "kc", "credentials": "nope"}, "list of Keycloak credential objects"),
        ({"username": "kc", "credentials": [{"type": "password"}, {"type": "password"}]}, "secretData"),
    ],
)
def test_unusable_keycloak_credentials_are_refused_with_a_reason(row: dict[str, Any], reason: str) -> None:
    result = parse_line(Line(1, orjson.dumps(row)))
    assert isinstance(result, RowError)
    assert result.field == "credentials"
    assert reason in result.reason
