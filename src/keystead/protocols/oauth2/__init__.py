"""OAuth 2.0 core (RFC 6749), bearer tokens (RFC 6750), PKCE (RFC 7636), token introspection
(RFC 7662), revocation (RFC 7009), the authorization server issuer identifier (RFC 9207) and the
JWT access token profile (RFC 9068).

Covered: the authorization code, refresh token and client credentials grants; client
authentication ``client_secret_basic``, ``client_secret_post`` and ``none``.
Left out (for now): the implicit and password grants (deprecated by the OAuth 2.0 Security BCP),
device authorization, PAR, DPoP, JWT client authentication.
"""
