"""JOSE policy (RFC 7515/7517/7518/7519, RFC 9068 for access tokens).

The cryptography is joserfc's; this package decides which algorithms are allowed, how keys are
made and named, and how a token is checked (issuer, audience, expiry, type).
"""

from keystead.protocols.jose.keys import SUPPORTED_ALGS, SigningKey, generate, public_jwks
from keystead.protocols.jose.tokens import JoseError, sign, verify

__all__ = ["SUPPORTED_ALGS", "JoseError", "SigningKey", "generate", "public_jwks", "sign", "verify"]
