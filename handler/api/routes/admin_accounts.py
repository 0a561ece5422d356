"""The operators' view of accounts (IAM-signed, as the rest of the admin API): every account
with its money, one with its keys and members, suspending, reinstating and approving, and the
report of what came in and went out per day."""

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from handler.api.deps import CurrencyDep, EntriesDep, OperatorDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.member_deps import AccountMembersDep, AccountsDep
from handler.api.schemas_account import AccountKey, AccountView, InvitationView, MemberView
from handler.api.schemas_admin import Body
from handler.api.schemas_report import MoneyReport
from handler.core.amounts import UnsignedMicros
from handler.money.report import report
from handler.money.usage import period

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)


class AccountList(BaseModel):
    object: Literal["list"] = "list"
    data: Annotated[list[AccountView], Field(description="Oldest first.")]


class AccountDetail(AccountView):
    keys: list[AccountKey]
    members: list[MemberView]


class AccountCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    owner_email: Annotated[
        str, Field(min_length=3, max_length=254, pattern=r"^\s*[^@\s]+@[^@\s]+\s*$")
    ]
    balance: Annotated[UnsignedMicros, Field(description="Its opening credit, micro-units.")] = 0


class OpenedAccount(BaseModel):
    account: AccountView
    invitation: Annotated[InvitationView, Field(description="Its owner's, emailed by Cognito.")]


class Suspension(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/accounts")
def list_accounts(
    accounts: AccountsDep, operator: OperatorDep, currency: CurrencyDep
) -> AccountList:
    """Every account: its balance, holds and spend, and whether it is suspended or awaiting
    approval."""
    return AccountList(data=[AccountView.of(a, currency) for a in accounts.all()])


@router.post("/accounts")
def open_account(
    body: AccountCreate,
    members: AccountMembersDep,
    operator: OperatorDep,
    currency: CurrencyDep,
) -> OpenedAccount:
    """Open an account and invite its owner by email (an invitation-only deployment's start)."""
    opened = members.open_for(operator, body.name, body.owner_email, balance=body.balance)
    account, invitation = opened
    return OpenedAccount(
        account=AccountView.of(account, currency), invitation=InvitationView.of(invitation)
    )


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


@router.get("/report")
def money_report(
    entries: EntriesDep,
    operator: OperatorDep,
    currency: CurrencyDep,
    start_time: Annotated[
        int | None, Query(ge=0, description="Unix seconds (30 days ago).")
    ] = None,
    end_time: Annotated[int | None, Query(ge=1, description="Unix seconds (now).")] = None,
) -> MoneyReport:
    """Revenue and spend per UTC day across every account, refunds and adjustments among
    them, the accounts that spent most, and what requests earned the operator: revenue, cost
    and margin per model, placement and account."""
    start, end = period(start_time, end_time, now=time.time())
    found = report(entries.between(start * 1000, end * 1000))
    return MoneyReport.of(start, end, currency, found)
