"""Keystead: an open-source identity platform (OpenID Connect provider, SSO, CIAM, IDaaS)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
