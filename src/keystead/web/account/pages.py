"""The account page of an end user (``{tenant base}/account``): their passkeys (add, rename,
remove), authenticator apps (add through the TOTP enrolment, remove) and recovery codes
(regenerate, shown once). Every POST carries the session's CSRF token; adding or removing a
factor, and new recovery codes, need an authentication from the last ten minutes
(session.RECENT_AUTH), else the page offers to confirm it's you first (``prompt=login``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.errors import InvalidInput, NotFound
from keystead.protocols.oauth2.params import single
from keystead.services import passkey_credentials, recovery_codes, totp
from keystead.services.factor_checks import FactorLocked, InvalidCode
from keystead.services.passkey_challenges import PasskeyRejected
from keystead.web import passkey_pages
from keystead.web.account.context import Account, open_account

log = logging.getLogger("keystead.account")
NOTICES = {
    "passkey-added": "Passkey added. You can use it to sign in.",
    "passkey-renamed": "Passkey renamed.",
    "removed": "Removed. It can no longer be used to sign in.",
    "totp-added": "Authenticator app added.",
}


def _day(timestamp: float | None) -> str:
    return time.strftime("%d %b %Y", time.gmtime(timestamp)) if timestamp else "never"


def _overview(a: Account) -> dict[str, Any]:
    factors = a.app.storage.factors_of_user(a.ctx.tenant.id, a.user.id)
    passkeys = [
        {
            "id": f.id,
            "name": f.name,
            "added": _day(f.created_at),
            "used": _day(f.last_used_at),
            "synced": bool(f.data.get("backed_up")),
        }
        for f in passkey_credentials.passkeys_of(factors)
    ]
    apps = [
        {"id": f.id, "name": f.name, "added": _day(f.created_at), "used": _day(f.last_used_at)}
        for f in factors
        if f.kind == totp.KIND and f.status == "active"
    ]
    codes = next((f for f in factors if f.kind == recovery_codes.KIND), None)
    return {
        "passkeys": passkeys,
        "apps": apps,
        "codes_left": recovery_codes.remaining(codes) if codes is not None else None,
        "codes_total": recovery_codes.COUNT,
        "recent": a.recent,
    }


async def home(request: Request) -> Response:
    a = await open_account(request, post=False)
    if isinstance(a, Response):
        return a
    notice = NOTICES.get(request.query_params.get("done", ""))
    overview = await run_in_threadpool(_overview, a)
    return a.render("account/home.html", notice=notice, error=None, **overview)


async def _refuse(a: Account, message: str, status: int = 400) -> Response:
    overview = await run_in_threadpool(_overview, a)
    return a.render("account/home.html", status, notice=None, error=message, **overview)


async def passkey_options(request: Request) -> Response:
    """Registration options for a new passkey, as JSON (the page's script asks)."""
    a = await open_account(request, post=True)
    if isinstance(a, Response):
        return a
    if not a.recent:
        return Response('{"error": "confirm it\'s you first"}', 401, media_type="application/json")
    rp = passkey_pages.relying_party(a.ctx)
    try:
        body = await run_in_threadpool(
            a.app.passkeys.registration_options, a.ctx.tenant.id, a.user.id, rp, a.binding
        )
    except InvalidInput as invalid:
        return Response(f'{{"error": "{invalid.field}"}}', 400, media_type="application/json")
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def add_passkey(request: Request) -> Response:
    a = await open_account(request, post=True)
    if isinstance(a, Response):
        return a
    if not a.recent:
        return a.reauthenticate()
    name = single(a.form, "name", max_length=200)
    rp = passkey_pages.relying_party(a.ctx)
    try:
        use = await run_in_threadpool(
            lambda: a.app.passkeys.register(
                a.ctx.tenant.id, a.user.id, rp, a.binding, passkey_pages.credential(a.form), name=name
            )
        )
    except PasskeyRejected as refused:
        log.info("account passkey registration refused: %s", refused.reason)
        return await _refuse(a, "That passkey could not be added. Try again.")
    except InvalidInput as invalid:
        return await _refuse(a, f"Choose another name: {invalid}.")
    a.audit("user.passkey.add", {"id": use.factor.id, "name": use.factor.name})
    return a.redirect("passkey-added")


async def rename_passkey(request: Request) -> Response:
    a = await open_account(request, post=True)
    if isinstance(a, Response):
        return a
    name = single(a.form, "name", max_length=200) or ""
    factor_id = request.path_params["factor_id"]
    try:
        info = await run_in_threadpool(a.app.passkeys.rename, a.ctx.tenant.id, a.user.id, factor_id, name)
    except NotFound:
        return await _refuse(a, "That passkey no longer exists.", 404)
    except InvalidInput as invalid:
        return await _refuse(a, f"Choose another name: {invalid}.")
    a.audit("user.passkey.rename", {"id": info.id, "name": info.name})
    return a.redirect("passkey-renamed")


async def remove_factor(request: Request) -> Response:
    a = await open_account(request, post=True)
    if isinstance(a, Response):
        return a
    if not a.recent:
        return a.reauthenticate()
    factor_id = request.path_params["factor_id"]
    try:
        removed = await run_in_threadpool(a.app.factors.remove_factor, a.ctx.tenant.id, a.user.id, factor_id)
    except NotFound:
        return await _refuse(a, "That sign-in method no longer exists.", 404)
    a.audit("user.factor.remove", {"id": removed.id, "kind": removed.kind, "name": removed.name})
    return a.redirect("removed")


async def totp_enrolment(request: Request) -> Response:
    """GET: a new authenticator app to set up (QR code, manual key); POST: its first code."""
    a = await open_account(request, post=request.method == "POST")
    if isinstance(a, Response):
        return a
    if not a.recent:
        return a.reauthenticate()
    factors = a.app.factors
    if request.method == "GET":
        try:
            enrolment = await run_in_threadpool(factors.enrol_totp, a.ctx.tenant.id, a.user.id)
        except InvalidInput as invalid:
            return await _refuse(a, f"{invalid}.")
        return a.render("account/totp.html", enrolment=enrolment, error=None)
    factor_id = single(a.form, "factor_id", max_length=64) or ""
    code = single(a.form, "code", max_length=64) or ""
    try:
        enrolment = await run_in_threadpool(
            factors.totp.pending_enrolment, a.ctx.tenant.id, a.user.id, factor_id
        )
    except NotFound:
        return await _refuse(a, "That setup expired. Start again.")
    try:
        use = await run_in_threadpool(factors.activate_totp, a.ctx.tenant.id, a.user.id, factor_id, code)
    except (InvalidCode, FactorLocked, InvalidInput):
        message = "That code is not valid. Check the code and try again."
        return a.render("account/totp.html", 400, enrolment=enrolment, error=message)
    a.audit("user.totp.add", {"id": use.factor.id, "name": use.factor.name})
    return a.redirect("totp-added")


async def new_recovery_codes(request: Request) -> Response:
    a = await open_account(request, post=True)
    if isinstance(a, Response):
        return a
    if not a.recent:
        return a.reauthenticate()
    generated = await run_in_threadpool(a.app.factors.generate_recovery_codes, a.ctx.tenant.id, a.user.id)
    a.audit("user.recovery_codes.generate", {"id": generated.factor.id})
    return a.render("account/recovery_codes.html", codes=generated.codes)
