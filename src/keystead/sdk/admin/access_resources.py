"""Sessions, consents and grants, signing keys, tenant settings and import jobs: thin wrappers
(sync and async) sending the calls :mod:`keystead.sdk.admin.access_routes` builds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Unpack

from keystead.sdk.admin.access_models import Consent, Grant, ImportJob, Session, SigningKey, TenantSettings
from keystead.sdk.admin.access_routes import (
    ConsentRoutes,
    ImportRoutes,
    KeyRoutes,
    SessionRoutes,
    SettingsChanges,
    SettingsRoutes,
)
from keystead.sdk.admin.models import User
from keystead.sdk.errors import SdkError

if TYPE_CHECKING:
    from keystead.sdk.admin.client import AdminClient, AsyncAdminClient


class ImportTimeout(SdkError):
    """``wait`` gave up before the import job finished."""


class Sessions:
    """``client.sessions(tenant)``: a user's live sessions; revoke one, or all of a user's."""

    def __init__(self, client: AdminClient, routes: SessionRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self, user: User | str, *, page_size: int | None = None) -> Iterator[Session]:
        """The user's live sessions, newest first."""
        return self._client.paginate(lambda cursor: self._routes.page(user, page_size, cursor))

    def revoke(self, session: Session | str) -> None:
        """Sign the session out; its grants (refresh tokens) are revoked with it."""
        self._client.send(self._routes.revoke(session))

    def revoke_all(self, user: User | str) -> None:
        self._client.send(self._routes.revoke_all(user))


class Consents:
    """``client.consents(tenant)``: what a user allowed which client, and the grants made."""

    def __init__(self, client: AdminClient, routes: ConsentRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self, user: User | str, *, page_size: int | None = None) -> Iterator[Consent]:
        return self._client.paginate(lambda cursor: self._routes.consents(user, page_size, cursor))

    def revoke(self, user: User | str, client_id: str) -> None:
        """Withdraw the consent; the user's grants for that client are revoked with it."""
        self._client.send(self._routes.revoke(user, client_id))

    def grants(self, user: User | str, *, page_size: int | None = None) -> Iterator[Grant]:
        """The user's live grants, newest first."""
        return self._client.paginate(lambda cursor: self._routes.grants(user, page_size, cursor))

    def revoke_grant(self, user: User | str, grant: Grant | str) -> None:
        self._client.send(self._routes.revoke_grant(user, grant))


class Keys:
    """``client.keys(tenant)``: signing keys (public facts only) and rotation."""

    def __init__(self, client: AdminClient, routes: KeyRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self) -> tuple[SigningKey, ...]:
        return self._client.send(self._routes.list())

    def rotate(self) -> tuple[str, ...]:
        """A new active key per algorithm in use; the new ``kid``s."""
        return self._client.send(self._routes.rotate())


class Settings:
    """``client.settings(tenant)``: read, and update under If-Match."""

    def __init__(self, client: AdminClient, routes: SettingsRoutes) -> None:
        self._client = client
        self._routes = routes

    def get(self) -> TenantSettings:
        return self._client.send(self._routes.get())

    def update(self, settings: TenantSettings, **changes: Unpack[SettingsChanges]) -> TenantSettings:
        """Apply ``changes`` if ``settings`` is still current, else :class:`PreconditionFailed`."""
        return self._client.send(self._routes.update(settings, changes))


class ImportJobs:
    """``client.import_jobs(tenant)``: bulk import jobs started by ``users(tenant).import_jsonl``."""

    def __init__(self, client: AdminClient, routes: ImportRoutes) -> None:
        self._client = client
        self._routes = routes

    def get(self, job: ImportJob | str) -> ImportJob:
        return self._client.send(self._routes.get(job))

    def list(self, *, page_size: int | None = None) -> Iterator[ImportJob]:
        """Jobs, newest first."""
        return self._client.paginate(lambda cursor: self._routes.page(page_size, cursor))

    def wait(self, job: ImportJob | str, *, poll: float = 0.5, timeout: float = 3600.0) -> ImportJob:
        """Poll until the job has finished (``succeeded`` or ``failed``); :class:`ImportTimeout`
        after ``timeout`` seconds."""
        current = self.get(job)
        deadline = self._client.now() + timeout
        while not current.finished:
            if self._client.now() >= deadline:
                raise ImportTimeout(f"import job {current.id} still {current.status} after {timeout} s")
            self._client.pause(poll)
            current = self.get(current)
        return current


class AsyncSessions:
    """:class:`Sessions` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: SessionRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self, user: User | str, *, page_size: int | None = None) -> AsyncIterator[Session]:
        return self._client.paginate(lambda cursor: self._routes.page(user, page_size, cursor))

    async def revoke(self, session: Session | str) -> None:
        await self._client.send(self._routes.revoke(session))

    async def revoke_all(self, user: User | str) -> None:
        await self._client.send(self._routes.revoke_all(user))


class AsyncConsents:
    """:class:`Consents` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: ConsentRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(self, user: User | str, *, page_size: int | None = None) -> AsyncIterator[Consent]:
        return self._client.paginate(lambda cursor: self._routes.consents(user, page_size, cursor))

    async def revoke(self, user: User | str, client_id: str) -> None:
        await self._client.send(self._routes.revoke(user, client_id))

    def grants(self, user: User | str, *, page_size: int | None = None) -> AsyncIterator[Grant]:
        return self._client.paginate(lambda cursor: self._routes.grants(user, page_size, cursor))

    async def revoke_grant(self, user: User | str, grant: Grant | str) -> None:
        await self._client.send(self._routes.revoke_grant(user, grant))


class AsyncKeys:
    """:class:`Keys` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: KeyRoutes) -> None:
        self._client = client
        self._routes = routes

    async def list(self) -> tuple[SigningKey, ...]:
        return await self._client.send(self._routes.list())

    async def rotate(self) -> tuple[str, ...]:
        return await self._client.send(self._routes.rotate())


class AsyncSettings:
    """:class:`Settings` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: SettingsRoutes) -> None:
        self._client = client
        self._routes = routes

    async def get(self) -> TenantSettings:
        return await self._client.send(self._routes.get())

    async def update(self, settings: TenantSettings, **changes: Unpack[SettingsChanges]) -> TenantSettings:
        return await self._client.send(self._routes.update(settings, changes))


class AsyncImportJobs:
    """:class:`ImportJobs` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: ImportRoutes) -> None:
        self._client = client
        self._routes = routes

    async def get(self, job: ImportJob | str) -> ImportJob:
        return await self._client.send(self._routes.get(job))

    def list(self, *, page_size: int | None = None) -> AsyncIterator[ImportJob]:
        return self._client.paginate(lambda cursor: self._routes.page(page_size, cursor))

    async def wait(self, job: ImportJob | str, *, poll: float = 0.5, timeout: float = 3600.0) -> ImportJob:
        current = await self.get(job)
        deadline = self._client.now() + timeout
        while not current.finished:
            if self._client.now() >= deadline:
                raise ImportTimeout(f"import job {current.id} still {current.status} after {timeout} s")
            await self._client.pause(poll)
            current = await self.get(current)
        return current
