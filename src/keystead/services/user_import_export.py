"""User export: every user of a tenant as JSON Lines, in the format the import reads
(:mod:`keystead.services.user_import_rows`), walking keyset pages so that memory stays flat.

Password hashes are left out unless asked for: with them, the file is as sensitive as the
database (offline guessing), and the caller is expected to have said so (the admin API and the
CLI record it in the audit trail).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from keystead.ports.records import User
from keystead.ports.stores import UserPageStore

PAGE_SIZE = 500
_OPTIONAL = ("email", "given_name", "family_name", "name", "phone_number", "locale", "address")


def export_lines(
    store: UserPageStore, tenant_id: str, *, with_password_hashes: bool = False, page_size: int = PAGE_SIZE
) -> Iterator[bytes]:
    """One JSON object and a newline per user, ordered by username."""
    after: tuple[str, str] | None = None
    while True:
        page = store.users_page(tenant_id, after=after, limit=page_size)
        for user in page:
            yield orjson.dumps(export_row(user, with_password_hashes=with_password_hashes)) + b"\n"
        if len(page) < page_size:
            return
        last = page[-1]
        after = (last.username.strip().casefold(), last.id)


def export_row(user: User, *, with_password_hashes: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {"id": user.id, "username": user.username}
    row.update({name: value for name in _OPTIONAL if (value := getattr(user, name)) is not None})
    if user.email_verified:
        row["email_verified"] = True
    if user.phone_number_verified:
        row["phone_number_verified"] = True
    if user.status != "active":
        row["status"] = user.status
    if user.roles:
        row["roles"] = list(user.roles)
    if with_password_hashes and user.password_hash is not None:
        row["password_hash"] = user.password_hash
    return row
