"""ASGI edge: the app factory, protocol endpoints and middleware. Thin: parse, call, render."""
