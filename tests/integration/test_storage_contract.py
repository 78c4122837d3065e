"""The storage ports' contract, on the configured backend (SQLite, and PostgreSQL in CI):
single use under concurrency, tenant scoping, and round trips of every record."""

from __future__ import annotations

import uuid

from keystead.ports.records import AuthorizationCode, Grant, RefreshToken, Session
from tests.support.concurrency import race
from tests.support.flow import Flow


def _code(tenant_id: str, code_hmac: str, now: float) -> AuthorizationCode:
    return AuthorizationCode(
        code_hmac=code_hmac,
        tenant_id=tenant_id,
        client_id="c",
        user_id="u",
        redirect_uri="https://rp/cb",
        scopes=("openid",),
        nonce="n",
        code_challenge=None,
        session_id=None,
        auth_time=now,
        acr=None,
        amr=("pwd",),
        claims={"userinfo": {"name": None}},
        expires_at=now + 60,
    )


def test_a_code_is_consumed_exactly_once_under_concurrency(keystead, factory, clock):
    tenant = factory.tenant()
    store = keystead.storage
    code_hmac = uuid.uuid4().hex
    store.add_code(_code(tenant.id, code_hmac, clock()))

    results = race(
        8, lambda i: store.consume_code(code_hmac, tenant_id=tenant.id, now=clock(), grant_id=f"g{i}")
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert store.code_by_hmac(code_hmac).grant_id == winners[0].grant_id
    assert winners[0].claims == {"userinfo": {"name": None}}
    assert winners[0].amr == ("pwd",)


def test_a_code_cannot_be_consumed_by_another_tenant(keystead, factory, clock):
    a, b = factory.tenant(), factory.tenant()
    code_hmac = uuid.uuid4().hex
    keystead.storage.add_code(_code(a.id, code_hmac, clock()))

    assert keystead.storage.consume_code(code_hmac, tenant_id=b.id, now=clock(), grant_id="x") is None
    assert keystead.storage.consume_code(code_hmac, tenant_id=a.id, now=clock(), grant_id="y") is not None


def test_a_refresh_token_rotates_exactly_once_under_concurrency(keystead, factory, clock):
    tenant = factory.tenant()
    store = keystead.storage
    grant = Grant(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        client_id="c",
        user_id="u",
        scopes=("openid",),
        created_at=clock(),
    )
    store.add_grant(grant)
    old = RefreshToken(
        token_hmac=uuid.uuid4().hex,
        grant_id=grant.id,
        tenant_id=tenant.id,
        client_id="c",
        scopes=("openid",),
        expires_at=clock() + 60,
        created_at=clock(),
    )
    store.add_refresh_token(old)

    def rotate(i: int) -> bool:
        new = RefreshToken(
            token_hmac=f"{uuid.uuid4().hex}",
            grant_id=grant.id,
            tenant_id=tenant.id,
            client_id="c",
            scopes=("openid",),
            expires_at=clock() + 60,
            created_at=clock(),
        )
        return store.rotate_refresh_token(old.token_hmac, new, now=clock())

    assert sum(race(8, rotate)) == 1
    assert store.refresh_token_by_hmac(tenant.id, old.token_hmac).used_at is not None


def test_concurrent_refresh_with_one_token_leaves_one_winner_and_revokes_the_family(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    flow = Flow(client, tenant.name)
    tokens = flow.exchange(rp, flow.login(rp, "alice")).json()

    responses = race(
        4, lambda i: flow.token(rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 400, 400, 400]
    winner = next(r for r in responses if r.status_code == 200).json()
    # the losers presented a used token: the whole family, the winner's new token included, is gone
    again = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_interaction_completes_once_under_concurrency(keystead, factory, clock):
    from keystead.ports.records import Interaction

    tenant = factory.tenant()
    id_hmac = uuid.uuid4().hex
    keystead.storage.add_interaction(
        Interaction(
            id_hmac=id_hmac,
            tenant_id=tenant.id,
            client_id="c",
            request={"request": {}},
            created_at=clock(),
            expires_at=clock() + 60,
        )
    )

    results = race(8, lambda i: keystead.storage.complete_interaction(tenant.id, id_hmac, now=clock()))

    assert results.count(True) == 1


def test_sessions_are_tenant_scoped(keystead, factory, clock):
    a, b = factory.tenant(), factory.tenant()
    session = Session(
        id=str(uuid.uuid4()),
        tenant_id=a.id,
        user_id="u",
        token_hmac=uuid.uuid4().hex,
        auth_time=clock(),
        acr=None,
        amr=("pwd",),
        created_at=clock(),
        expires_at=clock() + 60,
    )
    keystead.storage.add_session(session)

    assert keystead.storage.session_by_hmac(b.id, session.token_hmac) is None
    assert keystead.storage.session_by_hmac(a.id, session.token_hmac) == session
    keystead.storage.revoke_session(b.id, session.id, now=clock())
    assert keystead.storage.session_by_hmac(a.id, session.token_hmac).revoked_at is None
