"""Keystead's one typed configuration tree. See :mod:`keystead.config.settings`."""

from keystead.config.settings import (
    DEV_SECRET_KEY,
    BotCheckSettings,
    DatabaseSettings,
    PasswordSettings,
    ServerSettings,
    Settings,
    ThrottleSettings,
    TokenSettings,
    load_settings,
)

__all__ = [
    "DEV_SECRET_KEY",
    "BotCheckSettings",
    "DatabaseSettings",
    "PasswordSettings",
    "ServerSettings",
    "Settings",
    "ThrottleSettings",
    "TokenSettings",
    "load_settings",
]
