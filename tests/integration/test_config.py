"""Configuration: ``KEYSTEAD_*`` environment variables, the ``KEYSTEAD_CONFIG`` TOML file, and
production mode refusing unsafe values before anything starts."""

from __future__ import annotations

import pytest

from keystead.config import DEV_SECRET_KEY, PasswordSettings, load_settings
from keystead.errors import ConfigurationError
from keystead.wiring import build
from tests.conftest import FAST_PASSWORDS

STRONG_SECRET = "a-random-production-secret-0123456789-abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No stray KEYSTEAD_* settings from the outer environment (the mode stays dev)."""
    import os

    for name in list(os.environ):
        if name.startswith("KEYSTEAD_") and name not in ("KEYSTEAD_TEST_DATABASE", "KEYSTEAD_TEST_PG_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYSTEAD_MODE", "dev")


def production(db_url: str, **overrides):
    values = {
        "mode": "production",
        "secret_key": STRONG_SECRET,
        "allow_sqlite": True,
        "database": {"url": db_url},
        "passwords": FAST_PASSWORDS,
        "server": {"base_url": "https://login.example.com"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            values[key] = {**values.get(key, {}), **value}
        else:
            values[key] = value
    return load_settings(**values)


# production mode
def test_safe_production_configuration_builds(db_url, clock):
    k = build(production(db_url), clock=clock)
    try:
        assert not k.settings.is_dev
        assert k.settings.server.base_url == "https://login.example.com"
    finally:
        k.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"server": {"base_url": "http://login.example.com"}}, "base_url"),
        ({"secret_key": DEV_SECRET_KEY}, "secret_key"),
        ({"secret_key": "short-secret"}, "secret_key"),
        ({"secret_key": "x" * 31}, "secret_key"),
        ({"allow_sqlite": False, "database": {"url": "sqlite:///./never-created.db"}}, "SQLite"),
    ],
)
def test_production_refuses_unsafe_values(db_url, clock, overrides, message):
    settings = production(db_url, **overrides)
    with pytest.raises(ConfigurationError, match=message):
        build(settings, clock=clock)


def test_production_default_secret_is_refused_when_unset(db_url, clock):
    settings = load_settings(
        mode="production",
        allow_sqlite=True,
        database={"url": db_url},
        server={"base_url": "https://login.example.com"},
    )
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    with pytest.raises(ConfigurationError, match="secret_key"):
        build(settings, clock=clock)


def test_production_lists_every_problem(clock):
    settings = load_settings(mode="production", database={"url": "sqlite:///./never-created.db"})
    with pytest.raises(ConfigurationError) as info:
        build(settings, clock=clock)
    text = str(info.value)
    assert "base_url" in text
    assert "secret_key" in text
    assert "SQLite" in text


def test_production_check_happens_before_touching_the_database(tmp_path, clock):
    target = tmp_path / "should-not-exist.db"
    settings = load_settings(mode="production", database={"url": f"sqlite:///{target}"})
    with pytest.raises(ConfigurationError):
        build(settings, clock=clock)
    assert not target.exists()


def test_dev_mode_accepts_dev_defaults(db_url, clock):
    settings = load_settings(database={"url": db_url}, passwords=FAST_PASSWORDS)
    assert settings.is_dev
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    k = build(settings, clock=clock)
    k.close()


def test_secret_is_not_shown_in_repr():
    settings = load_settings(secret_key=STRONG_SECRET)
    assert STRONG_SECRET not in repr(settings)
    assert STRONG_SECRET not in str(settings.model_dump())


# environment and file
def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("KEYSTEAD_MODE", "production")
    monkeypatch.setenv("KEYSTEAD_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("KEYSTEAD_ALLOW_SQLITE", "true")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "https://env.example.com")
    monkeypatch.setenv("KEYSTEAD_SERVER__TRUSTED_PROXIES", '["10.0.0.1", "10.0.0.2"]')
    monkeypatch.setenv("KEYSTEAD_TOKENS__CODE_TTL", "30")
    monkeypatch.setenv("KEYSTEAD_PASSWORDS__TIME_COST", "3")
    monkeypatch.setenv("KEYSTEAD_THROTTLE__IP_FAILURES_PER_WINDOW", "7")

    settings = load_settings()

    assert settings.mode == "production"
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert settings.allow_sqlite is True
    assert settings.server.base_url == "https://env.example.com"
    assert settings.server.trusted_proxies == ["10.0.0.1", "10.0.0.2"]
    assert settings.tokens.code_ttl == 30
    assert settings.tokens.interaction_ttl == 900  # untouched defaults survive
    assert settings.passwords.time_cost == 3
    assert settings.passwords.memory_kib == 19 * 1024
    assert settings.throttle.ip_failures_per_window == 7


def test_explicit_overrides_win_over_environment(monkeypatch):
    monkeypatch.setenv("KEYSTEAD_TOKENS__CODE_TTL", "30")
    monkeypatch.setenv("KEYSTEAD_SERVER__BASE_URL", "https://env.example.com")
    settings = load_settings(tokens={"code_ttl": 45})
    assert settings.tokens.code_ttl == 45
    assert settings.server.base_url == "https://env.example.com"


def test_config_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    path = tmp_path / "keystead.toml"
    path.write_text(
        f"""
mode = "production"
secret_key = "{STRONG_SECRET}"

[server]
base_url = "https://file.example.com"
port = 9443

[tokens]
code_ttl = 20
interaction_ttl = 120
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("KEYSTEAD_CONFIG", str(path))
    monkeypatch.delenv("KEYSTEAD_MODE")
    monkeypatch.setenv("KEYSTEAD_TOKENS__CODE_TTL", "40")

    settings = load_settings()

    assert settings.mode == "production"
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert settings.server.base_url == "https://file.example.com"
    assert settings.server.port == 9443
    assert settings.tokens.code_ttl == 40  # the environment wins over the file
    assert settings.tokens.interaction_ttl == 120  # the rest of the file's group is kept


def test_config_file_production_values_are_checked(monkeypatch, tmp_path, clock):
    path = tmp_path / "keystead.toml"
    path.write_text(
        'mode = "production"\n[server]\nbase_url = "http://plain.example.com"\n', encoding="utf-8"
    )
    monkeypatch.setenv("KEYSTEAD_CONFIG", str(path))
    monkeypatch.delenv("KEYSTEAD_MODE")
    settings = load_settings(database={"url": "sqlite:///./never-created.db"})
    with pytest.raises(ConfigurationError, match="base_url"):
        build(settings, clock=clock)


def test_missing_config_file_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KEYSTEAD_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="KEYSTEAD_CONFIG"):
        load_settings()


def test_invalid_toml_is_a_configuration_error(monkeypatch, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("this is = = not toml", encoding="utf-8")
    monkeypatch.setenv("KEYSTEAD_CONFIG", str(path))
    with pytest.raises(ConfigurationError, match="KEYSTEAD_CONFIG"):
        load_settings()


@pytest.mark.parametrize(
    "overrides",
    [
        {"tokens": {"code_ttl": 1}},
        {"tokens": {"code_ttl": 100000}},
        {"passwords": {"memory_kib": 1024}},
        {"server": {"port": 70000}},
        {"throttle": {"ip_failures_per_window": 1}},
        {"mode": "staging"},
        {"no_such_setting": 1},
    ],
)
def test_out_of_range_or_unknown_values_are_refused(overrides):
    from pydantic import ValidationError

    with pytest.raises((ValidationError, ConfigurationError)):
        load_settings(**overrides)


def test_password_defaults_are_owasp():
    defaults = PasswordSettings()
    assert (defaults.memory_kib, defaults.time_cost, defaults.parallelism) == (19456, 2, 1)
    assert load_settings().passwords.memory_kib == 19456
