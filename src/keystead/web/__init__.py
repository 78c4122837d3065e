"""Hosted pages: login, consent, logout and errors. Server-rendered, no inline scripts."""
