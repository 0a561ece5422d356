"""Accounts, their members and keys, and operators' changes to keys, from ``Settings``, built
once per process: what the admin API, the members' API and the admin function run on."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler import container
from handler.config import SignInSettings, get_settings, get_sign_in_settings
from handler.core.errors import NotFound

if TYPE_CHECKING:
    from handler.accounts.keys import AccountKeys
    from handler.accounts.membership import AccountMembers
    from handler.keys.admin import KeyAdmin
    from handler.money.stored.accounts import DynamoDBAccounts
    from handler.stores.sign_in import CognitoSignIn


@cache
def key_admin() -> KeyAdmin:
    from handler.keys.admin import KeyAdmin
    from handler.money.stored.key_changes import DynamoDBKeyChanges

    settings = get_settings()
    changes = DynamoDBKeyChanges(settings.keys_table, settings.ledger_table)
    return KeyAdmin(
        container.key_store(),
        changes,
        container.entries(),
        container.catalog(),
        local_webhooks=settings.local_webhooks,
        alerts=container.charging().alerts,
    )


@cache
def accounts() -> DynamoDBAccounts:
    from handler.money.stored.accounts import DynamoDBAccounts

    settings = get_settings()
    return DynamoDBAccounts(settings.keys_table, settings.ledger_table, settings.members_table)


@cache
def account_members() -> AccountMembers:
    from handler.accounts.membership import AccountMembers
    from handler.stores.members import DynamoDBMembers

    settings, sign_in = get_settings(), get_sign_in_settings()
    members = DynamoDBMembers(settings.members_table, settings.keys_table)
    logins = sign_in_service() if sign_in.user_pool_id is not None else None
    return AccountMembers(
        members, accounts(), sign_in.sign_up, sign_in.sign_up_starting_credit, logins=logins
    )


@cache
def account_keys() -> AccountKeys:
    from handler.accounts.keys import AccountKeys

    return AccountKeys(account_members(), accounts(), key_admin(), container.charge_store())


@cache
def sign_in_service() -> CognitoSignIn:
    """Members' sign-up and sign-in through the pool (404 where the deployment has none)."""
    from handler.aws.clients import cognito_client
    from handler.stores.sign_in import CognitoSignIn

    _, pool, client_id = members_pool()
    return CognitoSignIn(pool, client_id, cognito_client(pool_region(pool)))


def members_pool() -> tuple[SignInSettings, str, str]:
    """The sign-in settings, the members' pool and its console client (a 404 without them)."""
    settings = get_sign_in_settings()
    if settings.user_pool_id is None or settings.user_pool_client_id is None:
        raise NotFound("This deployment has no members' sign-in.", code="sign_in_not_configured")
    return settings, settings.user_pool_id, settings.user_pool_client_id


def pool_region(pool: str) -> str:
    return pool.split("_", 1)[0]  # a pool's id begins with its region: us-east-1_AbC
