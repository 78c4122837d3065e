"""Bulk user import and export on a real database: hashes made by the real libraries (bcrypt,
hashlib PBKDF2 in Keycloak's credential shape, argon2) sign in through PasswordLogin and are
upgraded to argon2id in the database; bad rows are reported by line and never cost the good
ones; a re-run creates nothing; an export imports back."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterable
from typing import Any

import bcrypt
import orjson
import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from keystead.clock import FrozenClock
from keystead.ports.records import Tenant
from keystead.services.audit import Actor
from keystead.services.login import LoginFailed
from keystead.services.passwords import HashParams
from keystead.services.user_import import ImportPolicy, Progress, UserImporter
from keystead.services.user_import_export import export_lines
from keystead.services.user_import_jobs import STALE_AFTER
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import Factory

PASSWORD = "imported pass phrase"
ACTOR = Actor("importer-test")


def jsonl(rows: Iterable[dict[str, Any] | str | bytes]) -> io.BytesIO:
    out = io.BytesIO()
    for row in rows:
        out.write(
            row if isinstance(row, bytes) else row.encode() if isinstance(row, str) else orjson.dumps(row)
        )
        out.write(b"\n")
    out.seek(0)
    return out


def run(k: Keystead, tenant: Tenant, rows: Iterable[dict[str, Any] | str | bytes], **kw: Any) -> Progress:
    job, progress = k.imports.run(tenant.id, ACTOR, jsonl(rows), source="test.jsonl", **kw)
    assert job.status == "succeeded"
    return progress


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def keycloak_pbkdf2(digest: str, iterations: int = 1000) -> list[dict[str, Any]]:
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac(digest, PASSWORD.encode(), salt, iterations, 64)
    secret = {"value": b64(key), "salt": b64(salt), "additionalParameters": {}}
    data = {"hashIterations": iterations, "algorithm": f"pbkdf2-{digest}", "additionalParameters": {}}
    return [
        {
            "id": "0b5c3c7e",
            "type": "password",
            "userLabel": "My password",
            "createdDate": 1700000000000,
            "secretData": orjson.dumps(secret).decode(),
            "credentialData": orjson.dumps(data).decode(),
        }
    ]


def keycloak_argon2() -> list[dict[str, Any]]:
    phc = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1, type=Type.ID).hash(PASSWORD)
    salt, key = phc.split("$")[-2:]
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    extra = {
        "hashLength": ["32"],
        "memory": ["8192"],
        "type": ["id"],
        "version": ["1.3"],
        "parallelism": ["1"],
    }
    return [
        {
            "type": "password",
            "secretData": {"value": pad(key), "salt": pad(salt)},
            "credentialData": {"hashIterations": 2, "algorithm": "argon2", "additionalParameters": extra},
        }
    ]


def phc_pbkdf2(digest: str) -> str:
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac(digest, PASSWORD.encode(), salt, 1200, 32)
    return f"$pbkdf2-{digest}$i=1200,l=32${b64(salt).rstrip('=')}${b64(key).rstrip('=')}"


SECRETS = {
    "bcrypt-2b (Auth0)": lambda: {
        "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    },
    "bcrypt-2a": lambda: {
        "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4, b"2a")).decode()
    },
    "bcrypt-2y": lambda: {
        "password_hash": "$2y$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()[4:]
    },
    "keycloak pbkdf2-sha256": lambda: {"credentials": keycloak_pbkdf2("sha256")},
    "keycloak pbkdf2-sha512": lambda: {"credentials": keycloak_pbkdf2("sha512")},
    "keycloak argon2": lambda: {"credentials": keycloak_argon2()},
    "phc pbkdf2-sha256": lambda: {"password_hash": phc_pbkdf2("sha256")},
    "phc pbkdf2-sha512": lambda: {"password_hash": phc_pbkdf2("sha512")},
    "argon2id": lambda: {
        "password_hash": PasswordHasher(time_cost=3, memory_cost=8192, type=Type.ID).hash(PASSWORD)
    },
    "argon2i": lambda: {
        "password_hash": PasswordHasher(time_cost=1, memory_cost=8192, type=Type.I).hash(PASSWORD)
    },
    "plain": lambda: {"password": PASSWORD},
}


def stored_hash(k: Keystead, tenant: Tenant, username: str) -> str:
    user = k.users.find(tenant.id, username)
    assert user.password_hash is not None
    return user.password_hash


def is_current_argon2id(stored: str) -> bool:
    p = extract_parameters(stored)
    return p.type is Type.ID and (p.memory_cost, p.time_cost, p.parallelism) == (
        FAST_PASSWORDS["memory_kib"],
        FAST_PASSWORDS["time_cost"],
        FAST_PASSWORDS["parallelism"],
    )


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_imported_password_signs_in_and_is_upgraded_to_argon2id(
    keystead: Keystead, factory: Factory, kind: str
) -> None:
    tenant = factory.tenant()
    name = unique("mig")
    progress = run(keystead, tenant, [{"username": name, "email": f"{name}@example.com", **SECRETS[kind]()}])
    assert (progress.created, progress.failed, progress.errors) == (1, 0, [])
    before = stored_hash(keystead, tenant, name)
    assert PASSWORD not in before
    assert before.startswith(("$2", "$pbkdf2-", "$argon2"))

    with pytest.raises(LoginFailed):
        keystead.login.authenticate(tenant.id, name, PASSWORD + "x", "192.0.2.1")
    assert stored_hash(keystead, tenant, name) == before  # a failed login changes nothing

    user = keystead.login.authenticate(tenant.id, f"{name}@example.com", PASSWORD, "192.0.2.1")
    assert user.username == name
    after = stored_hash(keystead, tenant, name)
    assert is_current_argon2id(after)
    if kind == "plain":
        assert after == before  # hashed at import with the current parameters: nothing to upgrade
    else:
        assert after != before
    assert keystead.login.authenticate(tenant.id, name, PASSWORD, "192.0.2.1").id == user.id


def test_keycloak_credentials_are_stored_in_the_canonical_pbkdf2_form(
    keystead: Keystead, factory: Factory
) -> None:
    tenant = factory.tenant()
    credentials = keycloak_pbkdf2("sha512", iterations=2100)
    run(keystead, tenant, [{"username": "kc", "credentials": credentials}])
    secret = orjson.loads(credentials[0]["secretData"])
    salt, key = (b64(base64.b64decode(secret[n])).rstrip("=") for n in ("salt", "value"))
    assert stored_hash(keystead, tenant, "kc") == f"$pbkdf2-sha512$i=2100,l=64${salt}${key}"


def test_bad_rows_are_reported_by_line_and_field_and_good_rows_go_in(
    keystead: Keystead, factory: Factory
) -> None:
    tenant = factory.tenant()
    factory.user(tenant, "existing", email="taken@example.com")
    rows: list[dict[str, Any] | str | bytes] = [
        {"username": "good1", "email": "good1@example.com", "roles": ["admin"], "status": "disabled"},
        "{not json",  # 2
        {"username": "x", "shoe_size": 44},  # 3
        {"email": "nobody@example.com"},  # 4
        {"username": "bad email", "email": "not-an-email"},  # 5
        {"username": "badmail", "email": "not-an-email"},  # 6
        {"username": "verif", "email_verified": "yes"},  # 7
        {"username": "md5", "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"},  # 8
        {"username": "both", "password": PASSWORD, "password_hash": phc_pbkdf2("sha256")},  # 9
        {"username": "short", "password": "short"},  # 10
        b"\xff\xfe not utf-8",  # 11
        "",  # 12: blank lines are skipped
        {"username": "GOOD1"},  # 13: repeats line 1, case-insensitively
        {"username": "thief", "email": "TAKEN@example.com"},  # 14
        {
            "username": "otp",
            "credentials": [{"type": "otp", "secretData": "{}", "credentialData": "{}"}],
        },  # 15
        "[1, 2]",  # 16
        {"username": "good2", "given_name": "Ada", "roles": ["Not A Role"]},  # 17
        {"username": "good3", "given_name": "Ada", "address": {"country": "FR", "planet": "Earth"}},  # 18
        {"username": "good4", "given_name": "Grace", "password": PASSWORD},  # 19
    ]
    progress = run(keystead, tenant, rows)
    errors = {(e.line, e.field) for e in progress.errors}
    assert errors == {
        (2, None),
        (3, "shoe_size"),
        (4, "username"),
        (5, "username"),
        (6, "email"),
        (7, "email_verified"),
        (8, "password_hash"),
        (9, "password_hash"),
        (10, "password"),
        (11, None),
        (13, "username"),
        (14, "email"),
        (15, "credentials"),
        (16, None),
        (17, "roles"),
        (18, "address.planet"),
    }
    assert (progress.total, progress.created, progress.unchanged, progress.failed) == (18, 2, 0, 16)
    reasons = {e.line: e.reason for e in progress.errors}
    assert reasons[13] == "repeats the username of an earlier line"
    assert reasons[14] == "email already in use"
    assert "unknown hash format" in reasons[8]
    good1 = keystead.users.find(tenant.id, "good1")
    assert (good1.roles, good1.status, good1.password_hash) == (("admin",), "disabled", None)
    assert keystead.login.authenticate(tenant.id, "good4", PASSWORD, "192.0.2.1").given_name == "Grace"
    for name in ("thief", "md5", "both", "verif", "good2", "good3"):
        with pytest.raises(Exception, match="no such user"):
            keystead.users.find(tenant.id, name)


def test_too_long_lines_are_refused_without_reading_them_whole(keystead: Keystead, factory: Factory) -> None:
    tenant = factory.tenant()
    long_row = {"username": "huge", "name": "n" * 100_000}
    progress = run(keystead, tenant, [long_row, {"username": "after-huge"}])
    assert [(e.line, e.reason) for e in progress.errors] == [(1, "line longer than 65536 bytes")]
    assert progress.created == 1
    assert keystead.users.find(tenant.id, "after-huge").username == "after-huge"


def test_rerunning_a_file_creates_no_duplicates(keystead: Keystead, factory: Factory) -> None:
    tenant = factory.tenant()
    importer = UserImporter(keystead.storage, keystead.passwords, keystead.clock, batch_size=3)
    rows = [{"username": f"re{i}", "email": f"re{i}@example.com", "password": PASSWORD} for i in range(7)]
    rows.append({"username": "re0"})  # a repeat across batches
    seen: list[int] = []
    first = importer.run(tenant.id, jsonl(rows), on_progress=lambda p: seen.append(p.done))
    assert (first.created, first.unchanged, first.failed) == (7, 0, 1)
    assert seen == [3, 6, 8]  # after each batch of three
    hashes = {
        u.username: u.password_hash for u in keystead.storage.users_page(tenant.id, after=None, limit=50)
    }

    second = importer.run(tenant.id, jsonl(rows))
    assert (second.created, second.unchanged, second.failed) == (0, 7, 1)
    users = keystead.storage.users_page(tenant.id, after=None, limit=50)
    assert sorted(u.username for u in users) == [f"re{i}" for i in range(7)]
    assert {u.username: u.password_hash for u in users} == hashes  # existing users are left alone


def test_export_then_import_round_trips(keystead: Keystead, factory: Factory) -> None:
    source, target = factory.tenant(), factory.tenant()
    rows = [
        {
            "username": "ada",
            "email": "ada@example.com",
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "name": "Ada Lovelace",
            "phone_number": "+44 20 0000",
            "phone_number_verified": True,
            "locale": "en-GB",
            "address": {"country": "GB", "locality": "London"},
            "roles": ["admin", "ops"],
            "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(),
        },
        {"username": "bob", "status": "disabled"},
        {"username": "carol", "password": PASSWORD},
    ]
    run(keystead, source, rows)
    without = [orjson.loads(line) for line in export_lines(keystead.storage, source.id, page_size=2)]
    assert [r["username"] for r in without] == ["ada", "bob", "carol"]
    assert all("password_hash" not in r for r in without)

    exported = [
        orjson.loads(line) for line in export_lines(keystead.storage, source.id, with_password_hashes=True)
    ]
    assert exported[0]["password_hash"] == rows[0]["password_hash"]
    assert "password_hash" not in exported[1]
    # ids are global: importing into another tenant takes new ones
    progress = run(keystead, target, [{k: v for k, v in r.items() if k != "id"} for r in exported])
    assert (progress.created, progress.failed) == (3, 0)
    again = [
        orjson.loads(line) for line in export_lines(keystead.storage, target.id, with_password_hashes=True)
    ]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "id"} for r in rs]  # noqa: E731
    assert strip(again) == strip(exported)
    assert keystead.login.authenticate(target.id, "carol", PASSWORD, "192.0.2.1").username == "carol"
    assert keystead.login.authenticate(target.id, "ada", PASSWORD, "192.0.2.1").email_verified


def test_export_keeps_ids_so_a_new_server_keeps_subjects(keystead: Keystead, factory: Factory) -> None:
    tenant = factory.tenant()
    user = factory.user(tenant, "keepme")
    exported = b"".join(export_lines(keystead.storage, tenant.id, with_password_hashes=True))
    keystead.users.delete(tenant.id, user.id)
    progress = run(keystead, tenant, [exported.decode().strip()])
    assert progress.created == 1
    assert keystead.users.get(tenant.id, user.id).username == "keepme"
    assert (
        keystead.login.authenticate(tenant.id, "keepme", "correct horse battery staple", "192.0.2.1").id
        == user.id
    )


def test_background_job_reports_progress_and_one_audit_event_without_secrets(
    keystead: Keystead, factory: Factory
) -> None:
    tenant = factory.tenant()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    rows = [{"username": "j1", "password": PASSWORD}, {"username": "j2", "password_hash": hashed}, "{"]
    job = keystead.imports.start(tenant.id, ACTOR, jsonl(rows), source="upload.jsonl")
    assert job.status == "queued"
    keystead.imports.wait()
    done = keystead.imports.get(tenant.id, job.id)
    assert (done.status, done.total, done.created, done.unchanged, done.failed) == ("succeeded", 3, 2, 0, 1)
    assert done.errors == [{"line": 3, "field": None, "reason": "not a JSON object"}]
    assert done.finished_at is not None
    events = [e for e in keystead.audit.page(tenant.id) if e.action == "user.import"]
    assert len(events) == 1
    assert events[0].target == job.id and events[0].actor == "importer-test"
    assert events[0].after == {
        "status": "succeeded",
        "source": "upload.jsonl",
        "total": 3,
        "created": 2,
        "unchanged": 0,
        "failed": 1,
    }
    assert PASSWORD not in str(events[0]) and hashed not in str(events[0])
    assert [j.id for j in keystead.imports.page(tenant.id, after=None, limit=10)] == [job.id]


def test_a_job_without_progress_for_too_long_is_reported_failed(
    keystead: Keystead, factory: Factory, clock: FrozenClock
) -> None:
    from keystead.ports.records import ImportJob

    tenant = factory.tenant()
    now = clock()
    keystead.storage.add_import_job(
        ImportJob("stale-job", tenant.id, "users", "running", "someone", now, now, total=10, created=4)
    )
    assert keystead.imports.get(tenant.id, "stale-job").status == "running"
    clock.advance(STALE_AFTER + 1)
    job = keystead.imports.get(tenant.id, "stale-job")
    assert (job.status, job.created, job.finished_at) == ("failed", 4, clock())
    assert "interrupted" in job.errors[-1]["reason"]
    assert keystead.storage.import_job(tenant.id, "stale-job") == job  # stored, not only reported
    events = [e for e in keystead.audit.page(tenant.id) if e.action == "user.import"]
    assert [e.after["status"] for e in events if e.after] == ["failed"]


def test_a_job_that_breaks_is_failed_and_audited(
    keystead: Keystead, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = factory.tenant()

    def broken(*args: Any, **kwargs: Any) -> list[int]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(keystead.storage, "add_users_bulk", broken)
    job, _ = keystead.imports.run(tenant.id, ACTOR, jsonl([{"username": "never"}]))
    assert job.status == "failed"
    assert job.errors[-1]["reason"] == "the import stopped on an internal error"
    assert keystead.storage.import_job(tenant.id, job.id) == job


def test_errors_kept_are_capped_but_all_counted(
    keystead: Keystead, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keystead.services.user_import as user_import

    monkeypatch.setattr(user_import, "MAX_ERRORS", 5)
    tenant = factory.tenant()
    progress = run(keystead, tenant, ["{"] * 12 + [{"username": "fine"}])
    assert (progress.failed, len(progress.errors), progress.created) == (12, 5, 1)
    assert [e.line for e in progress.errors] == [1, 2, 3, 4, 5]


def test_the_tenants_policy_applies_to_plain_passwords(keystead: Keystead, factory: Factory) -> None:
    tenant = factory.tenant()
    policy = ImportPolicy(hash_params=HashParams(time_cost=2, memory_kib=9216), min_password_length=12)
    rows = [
        {"username": "shorty", "password": "eleven char"},
        {"username": "longer", "password": "twelve chars"},
    ]
    _, progress = keystead.imports.run(tenant.id, ACTOR, jsonl(rows), policy=policy)
    assert [(e.line, e.field, e.reason) for e in progress.errors] == [
        (1, "password", "passwords are 12 to 1024 characters")
    ]
    params = extract_parameters(stored_hash(keystead, tenant, "longer"))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (9216, 2, 1)
    assert (
        keystead.login.authenticate(
            tenant.id, "longer", "twelve chars", "192.0.2.1", hash_params=policy.hash_params
        ).username
        == "longer"
    )
    assert stored_hash(keystead, tenant, "longer").startswith("$argon2id$v=19$m=9216,t=2,p=1$")


def test_without_a_policy_the_tenants_settings_apply(keystead: Keystead, factory: Factory) -> None:
    tenant = factory.tenant()
    keystead.tenant_settings.update(
        tenant.id,
        {"password_hashing": {"memory_kib": 9216, "time_cost": 4}, "password_policy": {"min_length": 12}},
        expected_version=0,
    )
    rows = [
        {"username": "too-short", "password": "eleven char"},
        {"username": "fits", "password": "twelve chars"},
    ]
    progress = run(keystead, tenant, rows)
    assert [(e.line, e.field) for e in progress.errors] == [(1, "password")]
    assert stored_hash(keystead, tenant, "fits").startswith("$argon2id$v=19$m=9216,t=4,p=1$")


def test_an_imported_keycloak_user_signs_in_through_the_login_page(
    keystead: Keystead, factory: Factory, client: Any
) -> None:
    from tests.support.flow import Flow

    tenant = factory.tenant()
    rp = factory.client(tenant)
    run(keystead, tenant, [{"username": "kc-page", "credentials": keycloak_pbkdf2("sha256")}])
    result = Flow(client, tenant.name).login(rp, "kc-page", PASSWORD)
    assert "code" in result.params
    assert is_current_argon2id(stored_hash(keystead, tenant, "kc-page"))
