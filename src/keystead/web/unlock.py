"""The unlock link's page (``/unlock?token=…``, mailed by services/unlock_links.py when a
failure locks an account). Opening it changes nothing (mail scanners follow links); the button
posts the token with the form's CSRF token and ends the lockout. Every link that does not work
(wrong, used, expired) gets the same answer."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.http.requests import app_of, decode_params, tenant_context
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.web.render import apply_cookies, csrf_ok, csrf_token, error_page, page, render_unbranded

INVALID = (
    "This unlock link has expired or was already used. The lockout ends by itself; "
    "you can also sign in by another method your administrator allows."
)


async def unlock(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return render_unbranded("error.html", 404, title="Page not found", error="not_found", status_code=404)
    action = f"{ctx.base_path}/unlock"
    cookies: dict[str, str] = {}
    token = csrf_token(request, ctx, cookies)
    if request.method == "GET":
        link = request.query_params.get("token", "")[:256]
        response: Response = page(request, ctx, "unlock.html", action=action, csrf_token=token, token=link)
        return apply_cookies(request, ctx, response, cookies)
    form = decode_params(await request.body())
    if not csrf_ok(request, ctx, single(form, "csrf_token", max_length=128)):
        return error_page(
            request,
            ctx,
            InvalidRequest("the form expired or was not sent from this site; go back and try again"),
            403,
        )
    link = single(form, "token", max_length=256) or ""
    unlocked = await run_in_threadpool(app_of(request).messaging.unlock_links.unlock, ctx.tenant.id, link)
    if not unlocked:
        return error_page(request, ctx, InvalidRequest(INVALID))
    return page(request, ctx, "unlock.html", done=True)
