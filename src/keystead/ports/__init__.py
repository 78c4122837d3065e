"""Narrow storage interfaces (``typing.Protocol``) the services need, and the records they carry.

Each use case names only what it touches (``AuthorizationCodeStore.consume``,
``RefreshTokenStore.rotate``); the SQL adapter implements them all, and one contract suite runs
against every backend.
"""
