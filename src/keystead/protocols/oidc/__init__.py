"""OpenID Connect Core 1.0, Discovery 1.0 and RP-Initiated Logout 1.0.

Covered: the authorization code flow (Core section 3.1), ID token contents (section 2) with
``at_hash``, ``auth_time``, ``acr``, ``amr``, ``sid``; ``prompt``, ``max_age``, ``id_token_hint``
(section 3.1.2.1); standard claims by scope (section 5.4) and the ``claims`` parameter (section
5.5); UserInfo (section 5.3); provider metadata (Discovery section 3) shared with RFC 8414.
Left out: implicit and hybrid flows, request objects, pairwise subjects, front/back-channel logout.
"""
