"""One SQL backend implementing every storage port."""

from __future__ import annotations

from sqlalchemy import Engine

from keystead.adapters.sql.audit import AuditTables
from keystead.adapters.sql.bulk import BulkUserTables
from keystead.adapters.sql.directory import DirectoryTables
from keystead.adapters.sql.factors import FactorTables
from keystead.adapters.sql.grants import GrantTables
from keystead.adapters.sql.import_jobs import ImportJobTables
from keystead.adapters.sql.keys import KeyTables
from keystead.adapters.sql.one_time_codes import OneTimeCodeTables
from keystead.adapters.sql.passkeys import PasskeyTables
from keystead.adapters.sql.risk import RiskTables
from keystead.adapters.sql.sessions import SessionTables
from keystead.adapters.sql.users import UserTables


class SqlStorage(
    DirectoryTables,
    UserTables,
    BulkUserTables,
    GrantTables,
    SessionTables,
    KeyTables,
    AuditTables,
    ImportJobTables,
    FactorTables,
    PasskeyTables,
    OneTimeCodeTables,
    RiskTables,
):
    def __init__(self, engine: Engine) -> None:
        self._bind(engine)

    def close(self) -> None:
        self.engine.dispose()
