"""Which counter stores the attack-protection tests run on: in process always, Redis when
``KEYSTEAD_TEST_REDIS_URL`` is set (scripts/with-services.sh starts one). With ``CI=true`` a
missing Redis is a failure, never a skip."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

BACKENDS = ["memory", "redis"]
CI_TRUE = ("1", "true", "yes")


def redis_url() -> str:
    url = os.environ.get("KEYSTEAD_TEST_REDIS_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() in CI_TRUE:
        pytest.fail("CI=true needs KEYSTEAD_TEST_REDIS_URL (run the tests through scripts/with-services.sh)")
    pytest.skip("no KEYSTEAD_TEST_REDIS_URL: run through scripts/with-services.sh to test on Redis")


def settings_for(backend: str) -> dict[str, Any]:
    """Settings overrides for ``backend``. A fresh secret key per test gives it its own Redis key
    prefix, so tests sharing one Redis (and ``pytest -n``) never see each other's counts."""
    if backend == "memory":
        return {}
    secret = f"test-{uuid.uuid4().hex}-{uuid.uuid4().hex}"
    return {"redis_url": redis_url(), "secret_key": secret}
