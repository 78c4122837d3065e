"""Provision a tenant with the admin client: a tenant, a confidential client in it, three users.

With a platform admin's client credentials (``keystead admin create-client --platform``):

    python examples/admin_script.py --base-url http://localhost:8000 \\
        --issuer http://localhost:8000/t/platform --client-id ID --client-secret SECRET

Safe to run again: an existing tenant, client or user is reused, not duplicated (a client's
secret is shown only by the run that created it; rotate it to get a new one).
"""

from __future__ import annotations

import argparse

from keystead.sdk import AdminClient
from keystead.sdk.admin import PLATFORM_SCOPE, Conflict

USERS = [
    ("ada", "ada@example.com", "Ada Lovelace"),
    ("grace", "grace@example.com", "Grace Hopper"),
    ("alan", "alan@example.com", "Alan Turing"),
]
CLIENT_NAME = "Example web app"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True, help="Keystead's base URL")
    parser.add_argument("--issuer", required=True, help="The platform tenant's issuer")
    parser.add_argument("--client-id", required=True, help="A platform admin client")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--tenant", default="example-co", help="Name of the tenant to provision")
    parser.add_argument(
        "--redirect-uri", default="https://app.example.com/callback", help="The web app's callback"
    )
    args = parser.parse_args(argv)

    with AdminClient(
        args.base_url,
        client_id=args.client_id,
        client_secret=args.client_secret,
        issuer=args.issuer,
        scope=PLATFORM_SCOPE,
    ) as admin:
        try:
            tenant = admin.tenants().create(args.tenant, display_name="Example Co", brand_color="#0f766e")
            print(f"tenant created: {tenant.name} (issuer {tenant.issuer})")
        except Conflict:
            tenant = admin.tenants().get(args.tenant)
            print(f"tenant exists: {tenant.name} (issuer {tenant.issuer})")

        clients = admin.clients(tenant.name)
        existing = next((c for c in clients.list() if c.name == CLIENT_NAME), None)
        if existing is None:
            client = clients.create(
                CLIENT_NAME,
                redirect_uris=[args.redirect_uri],
                scopes=["openid", "profile", "email"],
                grant_types=["authorization_code", "refresh_token"],
            )
            print(f"client created: client_id={client.client_id}")
            print(f"client_secret={client.client_secret}  (shown once: store it now)")
        else:
            print(f"client exists: client_id={existing.client_id}")

        users = admin.users(tenant.name)
        for username, email, name in USERS:
            try:
                users.create(username, email=email, name=name)
                print(f"user created: {username}")
            except Conflict:
                print(f"user exists: {username}")

        print("users:")
        for user in users.list():
            print(f"  {user.username}  {user.email}  {user.name}")


if __name__ == "__main__":
    main()
