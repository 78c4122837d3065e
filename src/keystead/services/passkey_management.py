"""Listing, naming and removing a user's passkeys (services.passkeys adds the ceremonies)."""

from __future__ import annotations

from keystead.errors import Conflict, InvalidInput, NotFound
from keystead.ports.records import User, UserFactor
from keystead.ports.stores import FactorStore
from keystead.services import passkey_credentials as pc
from keystead.services.factor_checks import MAX_RACES, Directory


class PasskeyManagement:
    def __init__(self, factors: FactorStore, directory: Directory) -> None:
        self._factors = factors
        self._directory = directory

    def list_passkeys(self, tenant_id: str, user_id: str) -> list[pc.PasskeyInfo]:
        self._user(tenant_id, user_id)
        return [pc.info(f) for f in self._passkeys(tenant_id, user_id)]

    def has_passkey(self, tenant_id: str, user_id: str) -> bool:
        return bool(self._passkeys(tenant_id, user_id))

    def rename(self, tenant_id: str, user_id: str, factor_id: str, name: str) -> pc.PasskeyInfo:
        """``InvalidInput`` (``name``) if empty, too long or another passkey's; ``NotFound``."""
        if not name.strip():
            raise InvalidInput("name", f"a name of 1 to {pc.MAX_NAME} printable characters")
        for _ in range(MAX_RACES):
            passkeys = self._passkeys(tenant_id, user_id)
            factor = next((f for f in passkeys if f.id == factor_id), None)
            if factor is None:
                raise NotFound("no such passkey")
            label = pc.label(name, {f.name for f in passkeys if f.id != factor_id})
            updated = self._factors.update_factor(factor, name=label)
            if updated is not None:
                return pc.info(updated)
        raise Conflict("the passkey changed too often meanwhile; try again")

    def remove(self, tenant_id: str, user_id: str, factor_id: str) -> pc.PasskeyInfo:
        factor = self._factors.factor_by_id(tenant_id, user_id, factor_id)
        if factor is None or factor.kind != pc.KIND:
            raise NotFound("no such passkey")
        if not self._factors.delete_factor(tenant_id, user_id, factor_id):
            raise NotFound("no such passkey")
        return pc.info(factor)

    def _passkeys(self, tenant_id: str, user_id: str) -> list[UserFactor]:
        return pc.passkeys_of(self._factors.factors_of_user(tenant_id, user_id))

    def _user(self, tenant_id: str, user_id: str) -> User:
        user = self._directory.user_by_id(tenant_id, user_id)
        if user is None or self._directory.tenant_by_id(tenant_id) is None:
            raise NotFound("no such user")
        return user
