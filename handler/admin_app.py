"""``/admin/v1``: the routes API Gateway lets through only when IAM-signed, served by a function
whose role may make keys and move credit, which the public one may not (``AdminApiFunction``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from handler import accounts_container, container, moderation_container
from handler.api.application import build_app
from handler.api.lazy_routes import RouteModule

if TYPE_CHECKING:  # types only: each service's module is imported when it is built
    from handler.accounts.membership import AccountMembers
    from handler.keys.admin import KeyAdmin
    from handler.ports.accounts import Accounts
    from handler.ports.charges import ChargeStore
    from handler.ports.idempotency import Idempotency
    from handler.ports.ledger import Entries
    from handler.ports.moderation import AccountModeration


class AdminContainerServices:
    """The admin routes' services, each built on first use by its container."""

    def charge_store(self) -> ChargeStore:
        return container.charge_store()

    def entries(self) -> Entries:
        return container.entries()

    def idempotency(self) -> Idempotency:
        return container.idempotency()

    def key_admin(self) -> KeyAdmin:
        return accounts_container.key_admin()

    def accounts(self) -> Accounts:
        return accounts_container.accounts()

    def account_moderation(self) -> AccountModeration:
        return moderation_container.account_moderation()

    def account_members(self) -> AccountMembers:
        return accounts_container.account_members()


def _keys() -> APIRouter:
    from handler.api.routes import admin

    return admin.router


def _accounts() -> APIRouter:
    from handler.api.routes import admin_accounts

    return admin_accounts.router


def _moderation() -> APIRouter:
    from handler.api.routes import admin_moderation

    return admin_moderation.router


ADMIN = (
    RouteModule(
        "/admin/v1",
        (
            "/keys",
            "/keys/{key_id}",
            "/keys/{key_id}/topups",
            "/keys/{key_id}/adjustments",
            "/keys/{key_id}/revoke",
            "/keys/{key_id}/rotate",
            "/keys/{key_id}/audit",
            "/keys/{key_id}/transactions",
            "/usage",
        ),
        _keys,
    ),
    RouteModule(
        "/admin/v1",
        (
            "/accounts",
            "/accounts/{account_id}",
            "/accounts/{account_id}/suspend",
            "/accounts/{account_id}/reinstate",
            "/report",
        ),
        _accounts,
    ),
    RouteModule(
        "/admin/v1", ("/accounts/{account_id}/moderation", "/keys/{key_id}/requests"), _moderation
    ),
)


def create_admin_app(*, lazy: bool = False) -> FastAPI:
    return build_app(ADMIN, AdminContainerServices(), lazy=lazy)
