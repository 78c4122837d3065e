"""Shared fixtures: settings on a real database (SQLite by default, PostgreSQL when
``KEYSTEAD_TEST_DATABASE=postgres``), the wired services with an injected clock, the ASGI app,
and factories for tenants, users and clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.wiring import Keystead, build
from tests.support.databases import database_url
from tests.support.factories import Factory

FAST_PASSWORDS = {"memory_kib": 8192, "time_cost": 1, "parallelism": 1}


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture
def clock() -> FrozenClock:
    import time

    return FrozenClock(time.time())


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver"},
    )


@pytest.fixture
def keystead(settings: Settings, clock: FrozenClock) -> Iterator[Keystead]:
    k = build(settings, clock=clock)
    yield k
    k.passwords.close()


@pytest.fixture
def factory(keystead: Keystead) -> Factory:
    return Factory(keystead)


@pytest.fixture
def app(keystead: Keystead):  # type: ignore[no-untyped-def]
    from keystead.http.app import create_app

    return create_app(keystead)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    import warnings

    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
            yield c


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def pytest_configure(config: pytest.Config) -> None:
    Path("test-artifacts").mkdir(exist_ok=True)
    os.environ.setdefault("KEYSTEAD_MODE", "dev")
