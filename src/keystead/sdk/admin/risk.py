"""``client.risk_decisions(tenant)``: the risk engine's decisions at sign-in, newest first,
each with its explanation (docs/risk.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keystead.sdk.admin._core import Call, Engine
from keystead.sdk.admin.models import Page, parse_time
from keystead.sdk.admin.routes import page_of, query

if TYPE_CHECKING:
    from keystead.sdk.admin.client import AdminClient, AsyncAdminClient


@dataclass(frozen=True, slots=True)
class Contribution:
    """One signal: what was observed (``None``: unknown), the points it added, and why."""

    signal: str
    observed: bool | int | float | None
    weight: int
    reason: str


@dataclass(frozen=True, slots=True)
class RiskDecision:
    id: str
    user_id: str | None
    client_id: str | None
    ip: str | None
    created_at: datetime
    mode: str
    score: int
    outcome: str  # allow, step_up or deny
    enforced: str  # what the sign-in did (allow in simulate mode)
    effect: str  # none, second_factor, enrolment, no_factor or denied
    thresholds: Mapping[str, int]
    contributions: tuple[Contribution, ...]

    @property
    def fired(self) -> tuple[Contribution, ...]:
        return tuple(c for c in self.contributions if c.weight)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RiskDecision:
        return cls(
            id=str(body["id"]),
            user_id=body.get("user_id"),
            client_id=body.get("client_id"),
            ip=body.get("ip"),
            created_at=parse_time(body["created_at"]),
            mode=str(body.get("mode")),
            score=int(body.get("score") or 0),
            outcome=str(body.get("outcome")),
            enforced=str(body.get("enforced")),
            effect=str(body.get("effect")),
            thresholds=dict(body.get("thresholds") or {}),
            contributions=tuple(
                Contribution(
                    str(c["signal"]), c.get("observed"), int(c.get("weight", 0)), str(c.get("reason", ""))
                )
                for c in body.get("contributions") or ()
            ),
        )


class RiskDecisionRoutes:
    """``/tenants/{tenant}/risk-decisions``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self._engine = engine
        self.tenant = tenant

    def page(
        self, user_id: str | None, page_size: int | None, cursor: str | None
    ) -> Call[Page[RiskDecision]]:
        url = self._engine.url("tenants", self.tenant, "risk-decisions")
        params = query({"user_id": user_id, "page_size": page_size}, cursor)
        return Call("GET", url, page_of(RiskDecision.from_json), params=params)


class RiskDecisions:
    def __init__(self, client: AdminClient, routes: RiskDecisionRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self, *, user_id: str | None = None, page_size: int | None = None) -> Iterator[RiskDecision]:
        return self._client.paginate(lambda cursor: self._routes.page(user_id, page_size, cursor))


class AsyncRiskDecisions:
    def __init__(self, client: AsyncAdminClient, routes: RiskDecisionRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(
        self, *, user_id: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[RiskDecision]:
        return self._client.paginate(lambda cursor: self._routes.page(user_id, page_size, cursor))
