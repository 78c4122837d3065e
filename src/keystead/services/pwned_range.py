"""Optional k-anonymity range queries to a Have I Been Pwned compatible endpoint.

Only the first five hex digits of the password's SHA-1 leave the server
(``GET {url}{PREFIX}`` with ``Add-Padding: true``, so the response size does not tell which
prefix was asked either); the endpoint answers every suffix it knows under that prefix with a
count, and the match is made here. Padding entries have a count of 0 and never match. Neither
the password nor its full hash is sent or logged.

A failure (timeout, refused connection, an error status, a malformed answer) returns ``None``:
the caller lets the password through, the offline list having already applied. This runs when a
password is set, never in the login path (it would put the network in every sign-in).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

import httpx

DEFAULT_URL = "https://api.pwnedpasswords.com/range/"
MAX_RESPONSE_BYTES = 1024 * 1024
_LINE = re.compile(r"^([0-9A-F]{35}):(\d{1,12})$")

log = logging.getLogger(__name__)


class RangeCheckError(Exception):
    """The endpoint could not be asked or did not answer as a range API does."""


class PwnedRange:
    """``count(password)``: how often the endpoint says the password was seen in breaches."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = 2.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the range endpoint is an http(s) URL")
        self._url = url if url.endswith("/") else url + "/"
        self._timeout = timeout
        self._client: httpx.Client | None = None  # made on first use: most servers never ask
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url

    @property
    def timeout(self) -> float:
        return self._timeout

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self._timeout),
                    headers={"Add-Padding": "true", "User-Agent": "keystead-password-policy"},
                    follow_redirects=False,
                )
            return self._client

    def count(self, password: str) -> int | None:
        """Times seen (0: not listed), or ``None`` when the endpoint could not say."""
        try:
            return self.lookup(password)
        except RangeCheckError as exc:
            log.warning("password range check unavailable (%s): offline list only", exc)
            return None

    def lookup(self, password: str) -> int:
        """As :meth:`count`, raising :class:`RangeCheckError` when the endpoint could not say."""
        digest = hashlib.sha1(password.encode("utf-8", "surrogatepass"), usedforsecurity=False)
        full = digest.hexdigest().upper()
        prefix, suffix = full[:5], full[5:]
        body = self._fetch(prefix)
        found = 0
        for raw in body.splitlines():
            line = raw.strip()
            if not line:
                continue
            match = _LINE.match(line.upper())
            if match is None:
                raise RangeCheckError("malformed range response")
            if match.group(1) == suffix:
                found = int(match.group(2))
        return found

    def _fetch(self, prefix: str) -> str:
        try:
            with self._http().stream("GET", self._url + prefix) as response:
                if response.status_code != 200:
                    raise RangeCheckError(f"status {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise RangeCheckError("response too large")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise RangeCheckError(type(exc).__name__) from None
        try:
            return b"".join(chunks).decode("ascii")
        except UnicodeDecodeError:
            raise RangeCheckError("malformed range response") from None
