"""k-anonymity range queries against a fake HIBP-compatible server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keystead.config import load_settings
from keystead.errors import InvalidInput
from keystead.services.password_policy import PWNED, PasswordPolicy
from keystead.services.pwned_range import PwnedRange, RangeCheckError
from keystead.services.users import Users
from keystead.wiring import Keystead
from tests.support.factories import Factory

PWNED_PASSWORD = "violet tractor on the moor"  # pretend it leaked: the fake server lists it
PADDED_PASSWORD = "amber kettle under the bridge"  # listed only as padding (count 0)
CLEAN_PASSWORD = "seven quiet herons at dusk"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


@dataclass
class FakeRange:
    """What the server lists per prefix, how it misbehaves, and what it was asked."""

    counts: dict[str, int] = field(default_factory=dict)
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def answer(self, prefix: str) -> bytes:
        lines = [f"{h[5:]}:{n}" for h, n in self.counts.items() if h.startswith(prefix)]
        # padding as the real service adds it: random suffixes with a count of 0
        lines += [f"{hashlib.sha1(str(i).encode()).hexdigest().upper()[5:]}:0" for i in range(200)]
        return "\r\n".join(sorted(lines)).encode()


@pytest.fixture
def fake() -> Iterator[tuple[FakeRange, str]]:
    state = FakeRange(
        counts={sha1(PWNED_PASSWORD): 12_345, sha1(PADDED_PASSWORD): 0, "0" * 40: 7},
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append((self.path, dict(self.headers.items()), self.rfile.read(length)))
            if state.delay:
                time.sleep(state.delay)
            body = state.body if state.body is not None else state.answer(self.path.rsplit("/", 1)[-1])
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/range/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_listed_password_is_counted_and_only_the_prefix_is_sent(fake: tuple[FakeRange, str]):
    state, url = fake
    checker = PwnedRange(url, timeout=5)
    try:
        assert checker.count(PWNED_PASSWORD) == 12_345
    finally:
        checker.close()
    [(path, headers, body)] = state.requests
    digest = sha1(PWNED_PASSWORD)
    assert path == f"/range/{digest[:5]}"
    assert headers.get("Add-Padding") == "true"
    sent = (path + repr(headers) + body.decode(errors="replace")).upper()
    assert digest[5:] not in sent and PWNED_PASSWORD.upper() not in sent and body == b""


def test_padding_entries_and_unlisted_passwords_count_zero(fake: tuple[FakeRange, str]):
    _, url = fake
    checker = PwnedRange(url, timeout=5)
    try:
        assert checker.count(PADDED_PASSWORD) == 0  # its suffix is in the answer, with count 0
        assert checker.count(CLEAN_PASSWORD) == 0
    finally:
        checker.close()


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, b"busy", "status 503"),
        (200, b"not a range answer", "malformed"),
        (200, b"\xff\xfe", "malformed"),
        (200, b"0" * (1024 * 1024 + 1), "too large"),
    ],
    ids=["error-status", "malformed", "not-ascii", "too-large"],
)
def test_a_bad_answer_is_no_answer(fake: tuple[FakeRange, str], status: int, body: bytes, reason: str):
    state, url = fake
    state.status, state.body = status, body
    checker = PwnedRange(url, timeout=5)
    try:
        with pytest.raises(RangeCheckError, match=reason):
            checker.lookup(PWNED_PASSWORD)
        assert checker.count(PWNED_PASSWORD) is None
    finally:
        checker.close()


def test_a_slow_endpoint_times_out_and_the_password_is_set(
    keystead: Keystead, factory: Factory, fake: tuple[FakeRange, str]
):
    state, url = fake
    state.delay = 2.0
    tenant = factory.tenant()
    users = _users(keystead, PwnedRange(url, timeout=0.2))
    keystead.tenant_settings.update(
        tenant.id, {"password_policy": {"hibp_range_check": True}}, expected_version=0
    )
    user = users.create(tenant.id, "slowpoke", password=PWNED_PASSWORD)
    assert user.password_hash is not None and len(state.requests) == 1
    # the offline list still applies when the endpoint cannot answer
    with pytest.raises(InvalidInput, match="common or breached"):
        users.set_password(tenant.id, user.id, "password1")


def test_a_closed_port_does_not_block_setting_a_password(keystead: Keystead, factory: Factory):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        tenant = factory.tenant()
        users = _users(keystead, PwnedRange(f"http://127.0.0.1:{port}/range/", timeout=1))
        keystead.tenant_settings.update(
            tenant.id, {"password_policy": {"hibp_range_check": True}}, expected_version=0
        )
        assert users.create(tenant.id, "offline", password=PWNED_PASSWORD).password_hash


def test_users_refuse_a_pwned_password_only_in_tenants_that_ask(
    keystead: Keystead, factory: Factory, fake: tuple[FakeRange, str]
):
    state, url = fake
    users = _users(keystead, PwnedRange(url, timeout=5))
    relaxed, strict = factory.tenant(), factory.tenant()
    keystead.tenant_settings.update(
        strict.id, {"password_policy": {"hibp_range_check": True}}, expected_version=0
    )

    assert users.create(relaxed.id, "relaxed", password=PWNED_PASSWORD).password_hash
    assert state.requests == []
    with pytest.raises(InvalidInput) as caught:
        users.create(strict.id, "strict", password=PWNED_PASSWORD)
    assert (caught.value.field, caught.value.description) == ("password", PWNED)
    assert keystead.storage.user_by_login(strict.id, "strict") is None
    created = users.create(strict.id, "strict", password=CLEAN_PASSWORD)
    with pytest.raises(InvalidInput, match="data breach"):
        users.set_password(strict.id, created.id, PWNED_PASSWORD)
    assert keystead.storage.user_by_id(strict.id, created.id) == created  # nothing written
    assert len(state.requests) == 3


def test_the_server_settings_choose_the_endpoint_and_timeout() -> None:
    settings = load_settings(
        passwords={"hibp_range_url": "https://hibp.internal/range", "hibp_timeout_seconds": 0.5}
    )
    assert settings.passwords.hibp_range_url == "https://hibp.internal/range"
    checker = PwnedRange(settings.passwords.hibp_range_url, timeout=settings.passwords.hibp_timeout_seconds)
    assert (checker.url, checker.timeout) == ("https://hibp.internal/range/", 0.5)
    with pytest.raises(ValueError, match="http"):
        PwnedRange("ftp://example.com/range/")


def _users(keystead: Keystead, checker: PwnedRange) -> Users:
    return Users(
        keystead.storage,
        keystead.passwords,
        keystead.clock,
        settings_for=keystead.tenant_settings.for_tenant_id,
        policy=PasswordPolicy(range_check=checker),
    )
