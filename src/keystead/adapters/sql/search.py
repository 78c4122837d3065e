"""Free-text user search as an inverted index: one ``user_search_tokens`` row per distinct word
of a user's username, email (whole, local part, and domain labels) and names.

A query matches a user when every word of the query is a prefix of one of the user's tokens.
Tokens are normalised like usernames (trimmed, case-folded) and compared bytewise.
"""

from __future__ import annotations

import re
from typing import Any

from keystead.ports.records import User

MAX_TOKENS = 32
MAX_TOKEN_LENGTH = 255
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The searchable words of ``text``: runs of letters and digits, case-folded."""
    return [w[:MAX_TOKEN_LENGTH] for w in _WORD.findall(text.casefold())]


def user_tokens(user: User) -> set[str]:
    tokens: set[str] = set()
    username = user.username.strip().casefold()
    tokens.add(username[:MAX_TOKEN_LENGTH])
    tokens.update(words(username))
    if user.email:
        email = user.email.strip().casefold()
        tokens.add(email[:MAX_TOKEN_LENGTH])
        tokens.update(words(email))
    for text in (user.given_name, user.family_name, user.name):
        if text:
            tokens.update(words(text))
    tokens.discard("")
    return set(sorted(tokens, key=len, reverse=True)[:MAX_TOKENS])


def token_rows(user: User) -> list[dict[str, Any]]:
    """The ``user_search_tokens`` rows of ``user``."""
    return [
        {"tenant_id": user.tenant_id, "token": tok, "user_id": user.id} for tok in sorted(user_tokens(user))
    ]
