"""The demo tenant ``make serve`` starts with: created once, reused afterwards. Its ``admin``
user has the ``admin`` role, so it signs in to the admin console."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from keystead.services.console_access import ADMIN_ROLE
from keystead.services.secrets import new_token
from keystead.wiring import Keystead

TENANT = "demo"
ADMIN = "admin"
CLIENT_ID = "demo-app"


@dataclass(frozen=True)
class DemoInfo:
    issuer: str
    admin_password: str
    client_secret: str
    redirect_uri: str

    def lines(self) -> list[str]:
        query = urlencode(
            {
                "client_id": CLIENT_ID,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": "openid profile email",
                "state": "demo",
            }
        )
        return [
            "",
            "[bold]Keystead is ready[/bold] (dev mode, SQLite)",
            f"  issuer         {self.issuer}",
            f"  discovery      {self.issuer}/.well-known/openid-configuration",
            f"  admin user     {ADMIN} / {self.admin_password}",
            f"  admin console  {self.issuer}/console/  (sign in as {ADMIN})",
            f"  your account   {self.issuer}/account  (passkeys, authenticator app, recovery codes)",
            f"  demo client    {CLIENT_ID} / {self.client_secret}",
            f"  sign in        open {self.issuer}/authorize?{query}",
            f"  dev outbox     {self.issuer}/dev/outbox  (mailed codes and links)",
            "",
        ]


def ensure_demo(k: Keystead, state_dir: Path) -> DemoInfo:
    state_file = state_dir / "demo.json"
    saved = json.loads(state_file.read_text()) if state_file.exists() else {}
    tenant = k.storage.tenant_by_name(TENANT)
    if tenant is None:
        tenant = k.tenants.create(TENANT, "Demo Company", brand_color="#4f46e5")
        saved = {}
    if k.storage.user_by_login(tenant.id, ADMIN) is None or "admin_password" not in saved:
        saved["admin_password"] = new_token(12)
        user = k.storage.user_by_login(tenant.id, ADMIN)
        if user is None:
            k.users.create(
                tenant.id,
                ADMIN,
                email="admin@demo.keystead.test",
                password=saved["admin_password"],
                name="Demo Admin",
                email_verified=True,
                roles=[ADMIN_ROLE],
            )
        else:
            k.users.set_password(tenant.id, user.id, saved["admin_password"])
    if not saved.get("email_sign_in"):  # once: passwordless by email, shown in the dev outbox
        version = k.tenant_settings.read(tenant.id).version
        methods = ["password", "email_code", "email_link"]
        k.tenant_settings.update(tenant.id, {"login_methods": methods}, expected_version=version)
        saved["email_sign_in"] = True
    user = k.storage.user_by_login(tenant.id, ADMIN)
    if user is not None and ADMIN_ROLE not in user.roles:  # a demo made before the console
        k.users.update(tenant.id, user.id, roles=[*user.roles, ADMIN_ROLE])
    issuer = k.tenants.issuer(tenant)
    redirect_uri = f"{issuer}/dev/callback"
    client = k.storage.client_by_client_id(tenant.id, CLIENT_ID)
    if client is not None and redirect_uri not in client.redirect_uris:
        k.storage.update_client(tenant.id, CLIENT_ID, redirect_uris=[redirect_uri])
    if client is None:
        created = k.clients.create(
            tenant.id,
            "Demo App",
            client_id=CLIENT_ID,
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[issuer],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
        )
        saved["client_secret"] = created.secret
    elif "client_secret" not in saved:
        saved["client_secret"] = k.clients.rotate_secret(tenant.id, CLIENT_ID).secret
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(saved, handle)
    return DemoInfo(issuer, saved["admin_password"], saved["client_secret"], redirect_uri)
