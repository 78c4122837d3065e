"""Turning rows into records and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")

_TUPLE_FIELDS = frozenset(
    {"redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes", "amr", "roles"}
)


def to_record(cls: type[T], row: Mapping[Any, Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: (tuple(v or ()) if k in _TUPLE_FIELDS else v) for k, v in row.items() if k in names}
    return cls(**values)


def to_row(record: Any) -> dict[str, Any]:
    return {
        f.name: (list(v) if isinstance(v := getattr(record, f.name), tuple) else v) for f in fields(record)
    }


def to_values(updates: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in updates.items()}
