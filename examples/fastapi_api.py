"""An API protected by Keystead: FastAPI + ``keystead.sdk``.

    KEYSTEAD_ISSUER=http://localhost:8000/t/demo API_AUDIENCE=billing-job \\
        uvicorn examples.fastapi_api:app --port 9000

Then, with a client that has the ``client_credentials`` grant and the ``invoices:read`` scope:

    TOKEN=$(curl -s -u CLIENT_ID:SECRET http://localhost:8000/t/demo/token \\
              -d grant_type=client_credentials -d scope=invoices:read | jq -r .access_token)
    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9000/invoices
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from keystead.sdk import AccessToken, AsyncTokenVerifier
from keystead.sdk.asgi import require_token

audience = [a for a in os.environ.get("API_AUDIENCE", "").split(",") if a] or None
verifier = AsyncTokenVerifier(os.environ["KEYSTEAD_ISSUER"], audience=audience)
app = FastAPI(title="Invoices API (Keystead example)")

Authenticated = Annotated[AccessToken, Depends(require_token(verifier))]
CanReadInvoices = Annotated[AccessToken, Depends(require_token(verifier, scopes=["invoices:read"]))]


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
async def me(token: Authenticated) -> dict[str, Any]:
    """Who called: the user (code flow) or the client itself (client_credentials)."""
    return {"sub": token.sub, "client_id": token.client_id, "scopes": sorted(token.scopes)}


@app.get("/invoices")
async def invoices(token: CanReadInvoices) -> dict[str, Any]:
    return {"owner": token.sub, "invoices": [{"id": "inv-1", "total": "42.00", "currency": "EUR"}]}
