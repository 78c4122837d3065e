"""Password expiry (tenant setting ``password_policy.max_age_days``; 0, the default, is off).

NIST SP 800-63B 5.1.1.2 says verifiers SHOULD NOT require periodic password changes (users pick
weaker, predictable passwords); the setting exists for organisations bound by an older policy.
A password older than the limit is changed at the next *password* sign-in, in the flow's
``change_password`` stage (after the second factor). The age counts from
``users.password_changed_at``, or from ``created_at`` for a user whose password was set before
that column existed (or imported). Passkey and emailed sign-ins are not asked.
"""

from __future__ import annotations

from keystead.ports.records import User

DAY = 86400.0


def expired(user: User, max_age_days: int, now: float) -> bool:
    if max_age_days <= 0 or user.password_hash is None:
        return False
    changed = user.password_changed_at if user.password_changed_at is not None else user.created_at
    return now - changed >= max_age_days * DAY
