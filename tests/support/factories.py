"""Factories for tenants, users and clients with unique names (tests share one database)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from keystead.ports.records import Client, Tenant, User
from keystead.wiring import Keystead

PASSWORD = "correct horse battery staple"
REDIRECT_URI = "https://rp.example.com/cb"


@dataclass
class RegisteredClient:
    client: Client
    secret: str | None

    @property
    def client_id(self) -> str:
        return self.client.client_id


class Factory:
    def __init__(self, k: Keystead) -> None:
        self.k = k

    def tenant(self, **kwargs: Any) -> Tenant:
        return self.k.tenants.create(f"t{uuid.uuid4().hex[:12]}", "Acme Corp", **kwargs)

    def user(self, tenant: Tenant, username: str | None = None, **kwargs: Any) -> User:
        username = username or f"user{uuid.uuid4().hex[:8]}"
        kwargs.setdefault("password", PASSWORD)
        kwargs.setdefault("email", f"{username}@example.com")
        return self.k.users.create(tenant.id, username, **kwargs)

    def client(self, tenant: Tenant, **kwargs: Any) -> RegisteredClient:
        kwargs.setdefault("redirect_uris", [REDIRECT_URI])
        kwargs.setdefault("post_logout_redirect_uris", ["https://rp.example.com/bye"])
        kwargs.setdefault(
            "scopes", ["openid", "profile", "email", "phone", "address", "offline_access", "api"]
        )
        kwargs.setdefault(
            "grant_types",
            ["authorization_code", "refresh_token", "client_credentials"]
            if kwargs.get("client_type", "confidential") == "confidential"
            else ["authorization_code", "refresh_token"],
        )
        created = self.k.clients.create(tenant.id, kwargs.pop("name", "Acme App"), **kwargs)
        return RegisteredClient(created.client, created.secret)
