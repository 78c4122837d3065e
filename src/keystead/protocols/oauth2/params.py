"""Reading request parameters the way RFC 6749 section 3.1 requires.

"Request and response parameters MUST NOT be included more than once" and parameters sent
without a value are treated as omitted. Every value is also bounded in length.
"""

from __future__ import annotations

from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.types import Params

MAX_PARAM_LENGTH = 4096


def single(params: Params, name: str, *, max_length: int = MAX_PARAM_LENGTH) -> str | None:
    """The one value of ``name``, ``None`` when absent or empty; duplicates are refused."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(f"parameter '{name}' is included more than once")
    value = values[0]
    if len(value) > max_length:
        raise InvalidRequest(f"parameter '{name}' is too long")
    return value or None


def required(params: Params, name: str, *, max_length: int = MAX_PARAM_LENGTH) -> str:
    value = single(params, name, max_length=max_length)
    if value is None:
        raise InvalidRequest(f"parameter '{name}' is required")
    return value


def space_list(value: str | None) -> tuple[str, ...]:
    """A space-delimited list (``scope``, ``prompt``, ``acr_values``), order kept, no repeats."""
    if not value:
        return ()
    return tuple(dict.fromkeys(value.split()))


def parse_int(name: str, value: str | None, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidRequest(f"parameter '{name}' must be a non-negative integer")
    number = int(value)
    if number < minimum:
        raise InvalidRequest(f"parameter '{name}' must be at least {minimum}")
    return number
