"""Dependencies of the members' routes (``routes/account.py``): the person a request's
Cognito ID token names, and the services that act for them."""

from typing import Annotated

from fastapi import Depends, Request

from handler.accounts.keys import AccountKeys
from handler.accounts.membership import AccountMembers
from handler.api.services import services_of
from handler.core.errors import AuthenticationFailed
from handler.core.records.members import Member
from handler.ports.accounts import Accounts
from handler.ports.moderation import AccountModeration


def get_member(request: Request) -> Member:
    """The signed-in person: ``Authorization: Bearer <ID token>`` from the members' pool.
    Plain ``def``: the first verification of a process may fetch the pool's keys."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "Sign in to the console: send your ID token as Authorization: Bearer <token>.",
            code="sign_in_required",
        )
    member = services_of(request).member_tokens().verify(token.strip())
    request.state.id_token = token.strip()  # what the identity pool takes as the login
    return member


async def get_account_members(request: Request) -> AccountMembers:
    return services_of(request).account_members()


async def get_account_keys(request: Request) -> AccountKeys:
    return services_of(request).account_keys()


async def get_accounts(request: Request) -> Accounts:
    return services_of(request).accounts()


async def get_account_moderation(request: Request) -> AccountModeration:
    return services_of(request).account_moderation()


MemberDep = Annotated[Member, Depends(get_member)]
AccountMembersDep = Annotated[AccountMembers, Depends(get_account_members)]
AccountKeysDep = Annotated[AccountKeys, Depends(get_account_keys)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AccountModerationDep = Annotated[AccountModeration, Depends(get_account_moderation)]
