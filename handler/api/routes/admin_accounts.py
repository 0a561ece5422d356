"""The operators' view of accounts (IAM-signed, as the rest of the admin API): every account
with its money, one with its keys and members, and suspending, reinstating and approving."""

import time
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from handler.api.deps import CurrencyDep, OperatorDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.member_deps import AccountMembersDep, AccountsDep
from handler.api.schemas_account import AccountKey, AccountView, MemberView
from handler.api.schemas_admin import Body

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)


class AccountList(BaseModel):
    object: Literal["list"] = "list"
    data: Annotated[list[AccountView], Field(description="Oldest first.")]


class AccountDetail(AccountView):
    keys: list[AccountKey]
    members: list[MemberView]


class Suspension(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/accounts")
def list_accounts(
    accounts: AccountsDep, operator: OperatorDep, currency: CurrencyDep
) -> AccountList:
    """Every account: its balance, holds and spend, and whether it is suspended or awaiting
    approval."""
    return AccountList(data=[AccountView.of(a, currency) for a in accounts.all()])


@router.get("/accounts/{account_id}")
def show_account(
    account_id: str,
    accounts: AccountsDep,
    members: AccountMembersDep,
    operator: OperatorDep,
    currency: CurrencyDep,
) -> AccountDetail:
    view = AccountView.of(accounts.get(account_id), currency)
    keys = [AccountKey.of(key) for key in accounts.keys(account_id)]
    people = [MemberView.of(member) for member in members.members.members(account_id)]
    return AccountDetail(**view.model_dump(), keys=keys, members=people)


@router.post("/accounts/{account_id}/suspend")
def suspend_account(
    account_id: str,
    body: Suspension,
    accounts: AccountsDep,
    operator: OperatorDep,
    currency: CurrencyDep,
) -> AccountView:
    """Every key of the account answers 401 ``account_suspended`` until it is reinstated."""
    now = int(time.time())
    suspended = accounts.suspend(account_id, reason=body.reason, actor=operator, now=now)
    return AccountView.of(suspended, currency)


@router.post("/accounts/{account_id}/reinstate")
def reinstate_account(
    account_id: str, accounts: AccountsDep, operator: OperatorDep, currency: CurrencyDep
) -> AccountView:
    """Lift a suspension, or approve an account awaiting approval."""
    reinstated = accounts.reinstate(account_id, actor=operator, now=int(time.time()))
    return AccountView.of(reinstated, currency)
