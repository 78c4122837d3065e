"""The dev outbox page (``/t/{tenant}/dev/outbox``): the tenant's mail and text messages kept
in memory when no SMTP server is configured. The route exists in dev mode only (production
answers 404), and the page shows codes and links in clear: it is for a developer's machine."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keystead.http.requests import app_of, tenant_context
from keystead.web.render import page, render_unbranded

_LINK = re.compile(r"https?://\S+")


async def outbox(request: Request) -> Response:
    ctx = tenant_context(request)
    app = app_of(request)
    if ctx is None or not app.settings.is_dev:
        return render_unbranded("error.html", 404, title="Page not found", error="not_found", status_code=404)
    mail = app.messaging.outbox.messages(ctx.tenant.id) if app.messaging.outbox else []
    texts = app.messaging.sms_outbox.messages(ctx.tenant.id) if app.messaging.sms_outbox else []
    messages: list[dict[str, Any]] = [
        {
            "to": m.to,
            "subject": m.subject,
            "kind": m.kind,
            "sent_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(m.sent_at)),
            "text": m.text,
            "links": _LINK.findall(m.text),
        }
        for m in mail
    ]
    response = page(request, ctx, "dev_outbox.html", messages=messages, texts=texts)
    response.headers["Cache-Control"] = "no-store"
    return response
