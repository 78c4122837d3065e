"""Data files shipped with Keystead (``common-passwords.bloom``: see docs/password-policy.md)."""
