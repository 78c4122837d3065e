"""The one place adapters are wired to services; used by the HTTP app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.adapters.counters import build_counters
from keystead.adapters.sql import SqlStorage, create_engine_for, upgrade
from keystead.clock import system_clock
from keystead.config import Settings
from keystead.errors import ConfigurationError
from keystead.messaging import Messaging, attach_flow, build_messaging
from keystead.services.audit import Audit
from keystead.services.authorization import Authorization
from keystead.services.bot_check import BotCheck
from keystead.services.captcha import Captcha
from keystead.services.clients import Clients
from keystead.services.consents import Consents
from keystead.services.console_access import ConsoleAccess
from keystead.services.email_flow import EmailFacts
from keystead.services.factors import Factors
from keystead.services.geoip import open_locator
from keystead.services.keys import KeyManager
from keystead.services.lockout import Lockouts
from keystead.services.login import PasswordLogin
from keystead.services.login_flow import LoginFlow
from keystead.services.logout import Logout
from keystead.services.passkeys import Passkeys
from keystead.services.password_policy import password_policy
from keystead.services.password_resets import PasswordResets
from keystead.services.passwords import Passwords
from keystead.services.proof_of_work import ProofOfWork
from keystead.services.risk import RiskService
from keystead.services.risk_devices import DeviceIds
from keystead.services.secrets import KeyRing
from keystead.services.sessions import Sessions
from keystead.services.signin_events import SignInEvents
from keystead.services.tenant_config import TenantConfig
from keystead.services.tenant_settings import TenantSettingsService
from keystead.services.tenants import Tenants
from keystead.services.throttle import AttemptLimiter
from keystead.services.token_endpoint import TokenEndpoint
from keystead.services.tokens import Tokens
from keystead.services.user_import import UserImporter
from keystead.services.user_import_jobs import ImportJobs
from keystead.services.users import Users
from keystead.types import Clock


@dataclass
class Keystead:
    settings: Settings
    storage: SqlStorage
    ring: KeyRing
    clock: Clock
    passwords: Passwords
    keys: KeyManager
    tenants: Tenants
    users: Users
    clients: Clients
    sessions: Sessions
    tokens: Tokens
    authorization: Authorization
    token_endpoint: TokenEndpoint
    login: PasswordLogin
    lockouts: Lockouts
    logout: Logout
    audit: Audit
    consents: Consents
    tenant_settings: TenantSettingsService
    imports: ImportJobs
    console: ConsoleAccess
    factors: Factors
    login_flow: LoginFlow
    passkeys: Passkeys
    config: TenantConfig  # configuration as code: export/import settings and clients
    bot_check: BotCheck  # proof of work / Turnstile / hCaptcha before the password
    messaging: Messaging
    risk: RiskService
    signin_events: SignInEvents  # stage outcome audit events recorded by pages outside the services

    def close(self) -> None:
        self.messaging.close()  # the mail and SMS queues
        self.login.limiter.close()  # the Redis connection pool, when counters are shared
        self.passwords.close()
        self.bot_check.close()  # the provider verify connection pool
        self.risk.close()  # the GeoIP database's memory map
        self.storage.close()


def build(settings: Settings, *, clock: Clock = system_clock, migrate: bool = False) -> Keystead:
    settings.check_production()
    engine = create_engine_for(
        settings.database.url, pool_size=settings.database.pool_size, echo=settings.database.echo
    )
    if migrate:
        upgrade(engine)
    storage = SqlStorage(engine)
    ring = KeyRing(settings.secret_key.get_secret_value())
    t = settings.tokens
    counters = build_counters(settings, clock)
    limiter = AttemptLimiter(settings.throttle, counters)
    lockouts = Lockouts(limiter)
    passwords = Passwords(settings.passwords)
    keys = KeyManager(storage, ring, clock, t.max_token_ttl + t.clock_skew)
    signin_events = SignInEvents(Audit(storage, clock))
    bot_check = BotCheck(
        ring,
        ProofOfWork(ring, counters, clock, settings.bot_check.pow_ttl_seconds),
        Captcha(settings.bot_check),
        limiter,
        signin_events,
    )
    tenant_settings = TenantSettingsService(storage, t, clock, seal=bot_check.seal)
    clients = Clients(
        storage,
        ring,
        clock,
        t.max_token_ttl,
        ensure_key=keys.ensure_keys,
        lifetimes_for=lambda tenant_id: tenant_settings.for_tenant_id(tenant_id).tokens,
    )
    tenants = Tenants(storage, keys, clock, settings.server.base_url)
    tenant_settings.on_change(tenants.forget)
    tokens = Tokens(
        grants=storage,
        refresh_tokens=storage,
        access_tokens=storage,
        users=storage,
        keys=keys,
        ring=ring,
        clock=clock,
        skew=t.clock_skew,
    )
    users = Users(
        storage,
        passwords,
        clock,
        settings_for=tenant_settings.for_tenant_id,
        policy=password_policy(settings),
    )
    factors = Factors(storage, storage, ring, clock)
    passkeys = Passkeys(storage, storage, storage, ring, clock)
    email_facts = EmailFacts(tenant_settings.for_tenant_id, storage)
    login_flow = LoginFlow(
        factors,
        users,
        tenant_settings.for_tenant_id,
        passkeys=passkeys,
        events=signin_events,
        email_facts=email_facts,
    )
    messaging = build_messaging(
        settings, storage, ring, clock, counters, users=users, tenants=tenants, lockouts=lockouts
    )
    attach_flow(messaging, login_flow, storage)
    sessions = Sessions(
        storage,
        storage,
        storage,
        ring,
        clock,
        t.session_ttl,
        ttl_for=lambda tenant_id: tenant_settings.for_tenant_id(tenant_id).tokens.session_ttl,
    )
    messaging.password_resets = PasswordResets(
        messaging.codes, messaging.sender, storage, users, sessions, storage, lockouts, signin_events, clock
    )
    try:
        locator = open_locator(settings.geoip_database)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    risk = RiskService(
        storage,
        DeviceIds(ring),
        locator,
        Audit(storage, clock),
        limiter,
        clock,
        settings_for=lambda tenant_id: tenant_settings.for_tenant_id(tenant_id).risk,
        has_second_factor=factors.has_second_factor,
    )
    return Keystead(
        settings=settings,
        storage=storage,
        ring=ring,
        clock=clock,
        passwords=passwords,
        keys=keys,
        clients=clients,
        tokens=tokens,
        tenants=tenants,
        users=users,
        sessions=sessions,
        authorization=Authorization(
            clients=clients,
            keys=keys,
            codes=storage,
            interactions=storage,
            consents=storage,
            ring=ring,
            clock=clock,
            code_ttl=t.code_ttl,
            interaction_ttl=t.interaction_ttl,
            skew=t.clock_skew,
            code_ttl_for=lambda tenant_id: tenant_settings.for_tenant_id(tenant_id).tokens.code_ttl,
            flow=login_flow,
            events=signin_events,
        ),
        token_endpoint=TokenEndpoint(clients=clients, tokens=tokens, codes=storage, ring=ring, clock=clock),
        login=PasswordLogin(storage, passwords, limiter, lockouts, events=signin_events),
        lockouts=lockouts,
        logout=Logout(clients, keys, clock),
        audit=Audit(storage, clock),
        consents=Consents(storage, clock),
        tenant_settings=tenant_settings,
        imports=ImportJobs(
            storage,
            UserImporter(storage, passwords, clock),
            Audit(storage, clock),
            clock,
            settings_for=tenant_settings.for_tenant_id,
        ),
        console=ConsoleAccess(clients),
        factors=factors,
        login_flow=login_flow,
        passkeys=passkeys,
        config=TenantConfig(tenant_settings, clients, Audit(storage, clock)),
        bot_check=bot_check,
        messaging=messaging,
        risk=risk,
        signin_events=signin_events,
    )
