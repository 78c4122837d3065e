"""Signing keys: public facts only (never key material), and rotation."""

from __future__ import annotations

from starlette.responses import Response

from keystead.web.console import render
from keystead.web.console.context import Console


def list_keys(c: Console) -> Response:
    keys = c.app.keys.listing(c.target.id)
    return render.page(c, "console/keys.html", section="keys", title="Signing keys", keys=keys)


def rotate_keys(c: Console) -> Response:
    rotated = [{"kid": k.kid, "alg": k.alg} for k in c.app.keys.rotate(c.target.id)]
    c.app.audit.record(c.target.id, c.actor, "keys.rotate", None, after={"rotated": rotated})
    algs = ", ".join(sorted({r["alg"] for r in rotated})) or "no algorithm"
    c.say(f"New signing keys are active ({algs}). Earlier keys stay published until their tokens expire.")
    return c.redirect(f"{c.tbase}/keys")
