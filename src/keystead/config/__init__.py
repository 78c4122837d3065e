"""Keystead's one typed configuration tree. See :mod:`keystead.config.settings`."""

from keystead.config.settings import (
    DEV_SECRET_KEY,
    BotCheckSettings,
    DatabaseSettings,
    MailSettings,
    OneTimeCodeSettings,
    PasswordSettings,
    ServerSettings,
    Settings,
    SmsSettings,
    ThrottleSettings,
    TokenSettings,
    load_settings,
)

__all__ = [
    "DEV_SECRET_KEY",
    "BotCheckSettings",
    "DatabaseSettings",
    "MailSettings",
    "OneTimeCodeSettings",
    "PasswordSettings",
    "ServerSettings",
    "Settings",
    "SmsSettings",
    "ThrottleSettings",
    "TokenSettings",
    "load_settings",
]
