"""Free-text user search as an inverted index: one ``user_search_tokens`` row per distinct word
of a user's username, email (local part and domain labels) and names.

A query matches a user when every word of the query is a prefix of one of the user's tokens.
Words are runs of letters and digits, case-folded, and compared bytewise (C collation), so a
query word can never contain a separator: a token such as the whole email address would only
ever match as a prefix of its first word, which is a token anyway. For the same reason a token
that is a prefix of another token of the same user is dropped (``jo`` matches ``john``
whenever it matches ``jo``): fewer rows, same results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from keystead.adapters.sql import tables as t
from keystead.ports.records import User

MAX_TOKENS = 32
MAX_TOKEN_LENGTH = 255
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The searchable words of ``text``: runs of letters and digits, case-folded."""
    return [w[:MAX_TOKEN_LENGTH] for w in _WORD.findall(text.casefold())]


def query_words(text: str) -> list[str]:
    """The distinct words of a search query, minus those that are a prefix of another one
    (``jo john`` asks no more than ``john``), longest first, at most ``MAX_QUERY_WORDS``."""
    return sorted(_without_prefixes(set(words(text))), key=len, reverse=True)[:MAX_QUERY_WORDS]


def user_tokens(user: User) -> list[str]:
    """The sorted search tokens of ``user``."""
    text = " ".join(x for x in (user.username, user.email, user.given_name, user.family_name, user.name) if x)
    tokens = _without_prefixes(set(words(text)))
    if len(tokens) > MAX_TOKENS:
        tokens = sorted(tokens, key=len, reverse=True)[:MAX_TOKENS]
    return sorted(tokens)


def token_rows(user: User) -> list[dict[str, Any]]:
    """The ``user_search_tokens`` rows of ``user``."""
    return [{"tenant_id": user.tenant_id, "token": tok, "user_id": user.id} for tok in user_tokens(user)]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (code point,
    hence UTF-8 byte, order), so that ``prefix <= s < bound`` is an index range; ``None`` when
    there is none (every character is U+10FFFF: no upper bound is needed)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates are not characters: skip past them
            last = 0xE000
        if last <= 0x10FFFF:
            return "".join(chars) + chr(last)
    return None


def _without_prefixes(tokens: set[str]) -> list[str]:
    ordered = sorted(tokens)
    if not ordered:
        return []
    # In sorted order, the tokens that start with ``t`` come right after ``t``.
    return [t for t, nxt in zip(ordered, [*ordered[1:], ""], strict=True) if t and not nxt.startswith(t)]


# --- the ``q`` filter of users_page -------------------------------------------------------------

# A word whose prefix range holds at most this many token rows is "rare": its users are found
# through the token index (a range scan, then a primary-key lookup each) and sorted, which costs
# in proportion to that count. The rarest word drives the query; the other words are checked
# on its candidates. When every word is common, the page is first looked for among the next
# WALK_WINDOW users in page order, probing each one's tokens through the (user_id, token)
# index: a word that many users have usually fills a page there. Only when it does not (the
# matches are clustered elsewhere in username order, or the list ends) does the rarest word
# drive, at a cost in proportion to its count.
DRIVE_LIMIT = 10_000
WALK_WINDOW = 2_000


@dataclass(frozen=True)
class Search:
    """The words of a query, rarest first, and how many token rows each prefix range holds
    (counted up to DRIVE_LIMIT + 1)."""

    tenant_id: str
    words: list[str]
    counts: list[int]

    @property
    def rare(self) -> bool:
        return bool(self.words) and self.counts[0] <= DRIVE_LIMIT

    def driven(self) -> list[Any]:
        """Conditions on ``users``: the rarest word's users by id, the others probed."""
        if not self.words:
            return []
        first = t.users.c.id.in_(_tokens_of(self.tenant_id, self.words[0]))
        return [first, *self.probes(t.users.c.id, self.words[1:])]

    def probes(self, user_id: Any, words: list[str] | None = None) -> list[Any]:
        """One EXISTS per word: does user ``user_id`` have a token that the word starts."""
        tok = t.user_search_tokens.c
        return [
            select(tok.user_id)
            .where(tok.user_id == user_id, tok.tenant_id == self.tenant_id, _in_range(tok.token, w))
            .exists()
            for w in (self.words if words is None else words)
        ]


def plan_search(conn: Connection, tenant_id: str, text: str) -> Search | None:
    """The search for ``text``; ``None`` when no user can match (a word is the prefix of no
    token in the tenant). Without words (``q`` of separators only) it places no condition."""
    query = query_words(text)
    if not query:
        return Search(tenant_id, [], [])
    counts = conn.execute(
        select(
            *(
                select(func.count())
                .select_from(_tokens_of(tenant_id, w).limit(DRIVE_LIMIT + 1).subquery())
                .scalar_subquery()
                for w in query
            )
        )
    ).one()
    if min(counts) == 0:
        return None
    ranked = sorted(zip(counts, query, strict=True))
    return Search(tenant_id, [w for _, w in ranked], [c for c, _ in ranked])


def _in_range(column: Any, word: str) -> Any:
    upper = prefix_upper_bound(word)
    return and_(column >= word, column < upper) if upper is not None else column >= word


def _tokens_of(tenant_id: str, word: str) -> Select[tuple[str]]:
    tok = t.user_search_tokens.c
    return select(tok.user_id).where(tok.tenant_id == tenant_id, _in_range(tok.token, word))
