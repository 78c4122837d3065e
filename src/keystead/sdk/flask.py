"""Flask: ``@requires_token(verifier, scopes=[...])`` answers 401/403 per RFC 6750 or runs the
view with the verified token on ``flask.g.access_token``.

Imports Flask; importing :mod:`keystead.sdk` alone does not.

    verifier = TokenVerifier("https://id.example.com/t/acme", audience="billing-api")

    @app.get("/invoices")
    @requires_token(verifier, scopes=["invoices:read"])
    def invoices():
        return {"user": g.access_token.sub}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from flask import Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from keystead.sdk.access_token import require_scopes
from keystead.sdk.bearer import Denial, denial, token_from_header
from keystead.sdk.errors import SdkError
from keystead.sdk.tokens import TokenVerifier

P = ParamSpec("P")
R = TypeVar("R")


def requires_token(
    verifier: TokenVerifier, scopes: Iterable[str] = (), *, realm: str = "api"
) -> Callable[[Callable[P, R]], Callable[P, R | ResponseReturnValue]]:
    needed = tuple(scopes)

    def decorate(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
        @functools.wraps(view)
        def protected(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
            try:
                raw = token_from_header(request.headers.get("Authorization"))
                if raw is None:
                    return _respond(denial(None, realm, needed))
                g.access_token = require_scopes(verifier.verify(raw), *needed)
            except SdkError as exc:
                return _respond(denial(exc, realm, needed))
            return view(*args, **kwargs)

        return protected

    return decorate


def _respond(d: Denial) -> Response:
    response = jsonify(d.body)
    response.status_code = d.status
    if d.challenge:
        response.headers["WWW-Authenticate"] = d.challenge
    return response
