"""The sign-in flow engine, sans-IO: which stages an interaction still needs, from plain facts.

See :mod:`keystead.flows.stages` and docs/login-flows.md.
"""
