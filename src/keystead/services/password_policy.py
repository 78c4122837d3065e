"""A tenant's password policy, in the style of NIST SP 800-63B section 5.1.1.2.

What is checked when a password is set (:meth:`PasswordPolicy.check`), in this order, each with a
reason the user can act on (``InvalidInput("password", reason)``):

1. length: ``min_length`` to ``max_length`` characters (Unicode code points; defaults 8 and
   1024). No composition rules (no "one digit, one symbol"): NIST finds they make passwords
   weaker and harder to remember;
2. context: not the username or the email address's local part, nor containing them (when 4+
   characters), nor containing the tenant's display name;
3. the tenant's ``blocklist`` words (its name, product names), case-insensitively;
4. the offline list of common and breached passwords shipped with Keystead
   (:mod:`keystead.services.breached_passwords`, ``check_breached``);
5. optionally a k-anonymity range query to an HIBP-compatible endpoint
   (:mod:`keystead.services.pwned_range`, ``hibp_range_check``): only when a user or an
   administrator sets one password, never per imported row, never at login; if the endpoint
   cannot be reached the password is accepted (the offline list has applied).

:meth:`PasswordPolicy.is_breached` is the cheap, offline question the login flow and the risk
engine ask of a password that just signed in successfully ("change it now").
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from keystead.config import Settings
from keystead.errors import InvalidInput
from keystead.services.breached_passwords import BreachedPasswords, normalise
from keystead.services.pwned_range import PwnedRange
from keystead.services.tenant_settings import PasswordPolicy as PolicySettings

#: Usernames, local parts and names shorter than this are only refused as the whole password.
MIN_CONTAINED = 4

BREACHED = "this password is on a list of common or breached passwords: choose another one"
PWNED = "this password has appeared in a data breach: choose another one"


class PasswordPolicy:
    """Checks passwords against a tenant's :class:`PolicySettings` (``app.users.policy``)."""

    def __init__(
        self, breached: BreachedPasswords | None = None, range_check: PwnedRange | None = None
    ) -> None:
        self._breached = breached or BreachedPasswords.shipped()
        self._range = range_check

    @property
    def range_check(self) -> PwnedRange | None:
        return self._range

    def is_breached(self, password: str) -> bool:
        """On the shipped list of common/breached passwords? Offline and O(k): safe in the
        login path (a successful sign-in with such a password should lead to a change)."""
        return password in self._breached

    def check(
        self,
        password: str,
        rules: PolicySettings,
        *,
        username: str | None = None,
        email: str | None = None,
        context: Iterable[str] = (),
        online: bool = True,
    ) -> None:
        """:class:`InvalidInput` on ``password`` naming the first rule broken. ``context``:
        more words of the service (the tenant's display name); ``online=False`` skips the
        range query (bulk imports)."""
        reason = self.refusal(password, rules, username=username, email=email, context=context, online=online)
        if reason is not None:
            raise InvalidInput("password", reason)

    def refusal(
        self,
        password: str,
        rules: PolicySettings,
        *,
        username: str | None = None,
        email: str | None = None,
        context: Iterable[str] = (),
        online: bool = True,
    ) -> str | None:
        """The reason ``password`` is refused, or ``None``; as :meth:`check`."""
        if not isinstance(password, str) or not rules.min_length <= len(password) <= rules.max_length:
            return f"passwords are {rules.min_length} to {rules.max_length} characters"
        if "\x00" in password:
            return "a password must not contain NUL"
        folded = normalise(password)
        reason = _context_refusal(folded, username, email, context) or _blocklist_refusal(
            folded, rules.blocklist
        )
        if reason is not None:
            return reason
        if rules.check_breached and password in self._breached:
            return BREACHED
        if (
            online
            and rules.hibp_range_check
            and self._range is not None
            and (self._range.count(password) or 0) > 0
        ):
            return PWNED
        return None


def _context_refusal(
    folded: str, username: str | None, email: str | None, context: Iterable[str]
) -> str | None:
    local = email.rpartition("@")[0] if email and "@" in email else None
    for word, reason in (
        (username, "a password must not contain the username"),
        (local, "a password must not contain the name of the email address"),
        (email, "a password must not contain the email address"),
        *((name, "a password must not contain the name of this service") for name in context),
    ):
        if word and _contains(folded, normalise(word)):
            return reason
    return None


def _contains(folded: str, word: str) -> bool:
    if not word:
        return False
    return folded == word or (len(word) >= MIN_CONTAINED and word in folded)


def _blocklist_refusal(folded: str, blocklist: Iterable[str]) -> str | None:
    for word in blocklist:
        if word in folded:
            return f"a password must not contain the word '{word}' (blocked by this organisation)"
    return None


@cache
def offline_policy() -> PasswordPolicy:
    """The shipped list without range queries (imports, and :class:`Users` unless wired)."""
    return PasswordPolicy()


def password_policy(settings: Settings) -> PasswordPolicy:
    """The server's checker: the shipped list, and range queries to the configured endpoint
    (asked only for tenants that turn ``hibp_range_check`` on)."""
    config = settings.passwords
    return PasswordPolicy(range_check=PwnedRange(config.hibp_range_url, timeout=config.hibp_timeout_seconds))
