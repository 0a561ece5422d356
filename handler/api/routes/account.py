"""The members' API: a person signed in to the console (a Cognito ID token) opens an account
or takes up an invitation, and, as their role allows, manages its keys, members and
invitations, reads its usage and ledger and tops it up by card. Served by a function of its
own (``create_member_app``); the public one cannot make a key."""

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from handler.api.deps import CardTermsDep, CardTopUpsDep, CurrencyDep, EntriesDep, KeyStoreDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.member_deps import AccountKeysDep, AccountMembersDep, MemberDep
from handler.api.pages import PageAfter, PageLimit
from handler.api.routes.billing import (
    CardTopUpTerms,
    Checkout,
    CheckoutCreate,
    TransactionList,
    transactions,
)
from handler.api.schemas_account import (
    AccountKey,
    AccountKeyCreate,
    AccountKeyList,
    AccountKeyUpdate,
    AccountOpen,
    AccountUsage,
    AccountView,
    InvitationCreate,
    InvitationView,
    IssuedAccountKey,
    Me,
    MemberView,
    RoleChange,
)
from handler.api.schemas_admin import Rotation
from handler.core.errors import NotFound
from handler.money.usage import period

router = APIRouter(tags=["account"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)


class Deleted(BaseModel):
    id: str
    deleted: bool = True


@router.get("/me")
def me(
    member: MemberDep, members: AccountMembersDep, currency: CurrencyDep, terms: CardTermsDep
) -> Me:
    """Who is signed in, their account and role, an invitation waiting for them, and what a
    card top-up may be here."""
    membership, account, waiting = members.me(member)
    return Me(
        email=member.email,
        operator=member.is_operator,
        sign_up=members.sign_up,
        member=None if membership is None else MemberView.of(membership),
        account=None if account is None else AccountView.of(account, currency),
        invitation=None if waiting is None else InvitationView.of(waiting),
        card_top_ups=None if terms is None else CardTopUpTerms.of(terms),
    )


@router.post("/me/account")
def open_account(
    body: AccountOpen, member: MemberDep, members: AccountMembersDep, currency: CurrencyDep
) -> AccountView:
    """Open an account, its owner the caller, as the deployment's sign-up allows."""
    _, account = members.open(member, body.name)
    return AccountView.of(account, currency)


@router.post("/me/invitation")
def accept_invitation(member: MemberDep, members: AccountMembersDep) -> MemberView:
    """Take up the invitation made to the caller's email."""
    return MemberView.of(members.accept(member))


@router.get("/account/keys")
def list_account_keys(member: MemberDep, keys: AccountKeysDep) -> AccountKeyList:
    return AccountKeyList(data=[AccountKey.of(key) for key in keys.all(member)])


@router.post("/account/keys")
def create_account_key(
    body: AccountKeyCreate, member: MemberDep, keys: AccountKeysDep
) -> IssuedAccountKey:
    """A new key of the account; its plaintext is in this answer only."""
    return IssuedAccountKey.of(keys.create(member, body.name, body.changes()))


@router.patch("/account/keys/{key_id}")
def update_account_key(
    key_id: str, body: AccountKeyUpdate, member: MemberDep, keys: AccountKeysDep
) -> AccountKey:
    """Rename the key, or change its models, expiry or budget (``null`` lifts a limit)."""
    return AccountKey.of(keys.update(member, key_id, body.changes()))


@router.post("/account/keys/{key_id}/rotate")
def rotate_account_key(
    key_id: str, body: Rotation, member: MemberDep, keys: AccountKeysDep
) -> IssuedAccountKey:
    """A new secret; the old one works ``grace_seconds`` more."""
    return IssuedAccountKey.of(keys.rotate(member, key_id, body.grace_seconds))


@router.delete("/account/keys/{key_id}")
def revoke_account_key(key_id: str, member: MemberDep, keys: AccountKeysDep) -> AccountKey:
    return AccountKey.of(keys.revoke(member, key_id))


@router.get("/account/usage")
def account_usage(
    member: MemberDep,
    keys: AccountKeysDep,
    currency: CurrencyDep,
    start_time: Annotated[int | None, Query(ge=0, description="Unix seconds, inclusive.")] = None,
    end_time: Annotated[int | None, Query(ge=1, description="Unix seconds, exclusive.")] = None,
) -> AccountUsage:
    """The account's spend, requests and images per key and model over a period."""
    start, end = period(start_time, end_time, now=time.time())
    usage = keys.usage(member, start_ms=start * 1000, end_ms=end * 1000 - 1)
    return AccountUsage.report(start, end, usage, currency)


@router.get("/account/members")
def list_members(member: MemberDep, members: AccountMembersDep) -> list[MemberView]:
    account_id = members.of(member).account_id
    return [MemberView.of(m) for m in members.members.members(account_id)]


@router.patch("/account/members/{sub}")
def change_role(
    sub: str, body: RoleChange, member: MemberDep, members: AccountMembersDep
) -> MemberView:
    """Give a member another role (owners only; the last owner stays one)."""
    return MemberView.of(members.change_role(member, sub, body.role))


@router.delete("/account/members/{sub}")
def remove_member(sub: str, member: MemberDep, members: AccountMembersDep) -> Deleted:
    """Take a member out (owners only), or leave (a member's own id)."""
    members.remove(member, sub)
    return Deleted(id=sub)


@router.get("/account/invitations")
def list_invitations(member: MemberDep, members: AccountMembersDep) -> list[InvitationView]:
    account_id = members.of(member, "members").account_id
    found = members.members.invitations(account_id, now=int(time.time()))
    return [InvitationView.of(invitation) for invitation in found]


@router.post("/account/invitations")
def invite(body: InvitationCreate, member: MemberDep, members: AccountMembersDep) -> InvitationView:
    """Invite whoever signs in with ``email`` to the account, with ``role``, for 7 days."""
    return InvitationView.of(members.invite(member, body.email, body.role))


@router.delete("/account/invitations/{email}")
def withdraw_invitation(email: str, member: MemberDep, members: AccountMembersDep) -> Deleted:
    account_id = members.of(member, "members").account_id
    members.members.withdraw(email.lower(), account_id)
    return Deleted(id=email)


@router.get("/account/billing/transactions")
def account_transactions(
    member: MemberDep,
    members: AccountMembersDep,
    entries: EntriesDep,
    limit: PageLimit = 20,
    after: PageAfter = None,
) -> TransactionList:
    """The account's ledger, newest first."""
    account_id = members.of(member, "billing").account_id
    return transactions(entries, account_id, limit=limit, after=after)


@router.post("/account/billing/checkout")
def account_checkout(
    request: Request,
    body: CheckoutCreate,
    member: MemberDep,
    members: AccountMembersDep,
    keys: KeyStoreDep,
    cards: CardTopUpsDep,
) -> Checkout:
    """A card payment page for a top-up of the account (``Idempotency-Key`` as for keys)."""
    account = keys.get(members.of(member, "billing").account_id)
    if account is None:
        raise NotFound("The account is gone.")
    again = request.headers.get("idempotency-key")
    session = cards.checkout(
        account, body.amount, body.success_url, body.cancel_url, idempotency_key=again
    )
    return Checkout.of(session)
