"""Small tenant assets: the branding stylesheet, and the dev-mode demo callback page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from keystead.http.requests import app_of, tenant_context
from keystead.web.pages import not_found
from keystead.web.render import page


async def branding_css(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    color = ctx.tenant.brand_color
    body = ""
    if color:
        body = f":root {{ --ks-brand: {color}; --ks-brand-contrast: {_contrast(color)}; }}\n"
    background = app_of(request).tenant_settings.get(ctx.tenant).branding.background_color
    if background:
        # the page behind the card; dark mode keeps its own so that text stays readable
        body += f"@media not (prefers-color-scheme: dark) {{ :root {{ --ks-bg: {background}; }} }}\n"
    return Response(body, media_type="text/css", headers={"Cache-Control": "public, max-age=60"})


def _contrast(color: str) -> str:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111827" if luminance > 0.6 else "#ffffff"


async def dev_callback(request: Request) -> Response:
    """Dev mode only: a redirect URI for the demo client that shows what came back."""
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    params = request.query_params
    return page(
        request,
        ctx,
        "dev_callback.html",
        code=params.get("code", ""),
        error=params.get("error"),
        error_description=params.get("error_description"),
        token_endpoint=f"{ctx.issuer.url}/token",
        redirect_uri=f"{ctx.issuer.url}/dev/callback",
    )
