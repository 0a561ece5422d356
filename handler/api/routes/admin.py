"""The admin API: operators manage keys over HTTP, authorized by IAM (API Gateway's
``AWS_IAM`` on ``/admin/...``: the caller signs with SigV4), never by a bearer key. The
caller's IAM identity is every change's actor."""

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from handler.api.deps import ChargeStoreDep, EntriesDep, KeyAdminDep, OperatorDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.pages import PageAfter, PageLimit
from handler.api.replays import Replays, ReplaysDep
from handler.api.routes.billing import TransactionList, transactions
from handler.api.routes.usage import UsageCounts
from handler.api.schemas_admin import (
    AdminKey,
    AdminKeyList,
    AuditList,
    AuditView,
    IssuedKeyView,
    KeyCreate,
    KeyUpdate,
    Movement,
    Rotation,
)
from handler.core.keys import account_of
from handler.keys.admin import KeyAdmin
from handler.money.ledger import movement_once
from handler.money.usage import period, totals

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)


@router.post("/keys")
def create_key(body: KeyCreate, admin: KeyAdminDep, operator: OperatorDep) -> IssuedKeyView:
    """A new account's first key, or (``account_id``) one more key of an account; its
    plaintext is in this answer only."""
    policy, account_id = body.policy(), body.account_id
    issued = admin.create(operator, body.name, policy, balance=body.balance, account_id=account_id)
    return IssuedKeyView.of(issued)


@router.get("/keys")
def list_keys(
    admin: KeyAdminDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(description="A page's `next_after`.")] = None,
) -> AdminKeyList:
    """Every key, a page at a time (in no particular order)."""
    return AdminKeyList.of(admin.changes.page(limit=limit, after=after))


@router.get("/keys/{key_id}")
def show_key(key_id: str, admin: KeyAdminDep, operator: OperatorDep) -> AdminKey:
    return AdminKey.of(admin.show(key_id))


@router.patch("/keys/{key_id}")
def update_key(key_id: str, body: KeyUpdate, admin: KeyAdminDep, operator: OperatorDep) -> AdminKey:
    """Change the key's policy: only the fields given; ``null`` lifts a limit."""
    return AdminKey.of(admin.update(operator, key_id, body.changes()))


@router.post("/keys/{key_id}/topups")
def top_up_key(
    key_id: str, body: Movement, admin: KeyAdminDep, operator: OperatorDep, replays: ReplaysDep
) -> AdminKey:
    """Add ``amount`` (micro-units) to the balance: a ledger entry naming the caller. An
    ``Idempotency-Key`` makes a retry change nothing again and answer as the first time;
    sent with another body, it is a 409."""
    return _moved("topup", key_id, body, admin, operator, replays)


@router.post("/keys/{key_id}/adjustments")
def adjust_key(
    key_id: str, body: Movement, admin: KeyAdminDep, operator: OperatorDep, replays: ReplaysDep
) -> AdminKey:
    """Correct the balance by a signed ``amount``, with its ``reason`` (``Idempotency-Key``
    as for top-ups)."""
    return _moved("adjustment", key_id, body, admin, operator, replays)


def _moved(
    kind: Literal["topup", "adjustment"],
    key_id: str,
    body: Movement,
    admin: KeyAdmin,
    operator: str,
    replays: Replays,
) -> AdminKey:
    """The key after the movement; with an Idempotency-Key, as it was after the first."""
    _, fingerprint = movement_once(replays.key, kind, body.amount, body.reason)

    def move() -> AdminKey:
        moved = admin.move(
            kind, operator, key_id, body.amount, body.reason, idempotency_key=replays.key
        )
        return AdminKey.of(moved)

    return replays.once(key_id, fingerprint, move, AdminKey)


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: str, admin: KeyAdminDep, operator: OperatorDep) -> AdminKey:
    return AdminKey.of(admin.revoke(operator, key_id))


@router.post("/keys/{key_id}/rotate")
def rotate_key(
    key_id: str, body: Rotation, admin: KeyAdminDep, operator: OperatorDep
) -> IssuedKeyView:
    """A new secret; the old one keeps working for ``grace_seconds`` (a day by default)."""
    return IssuedKeyView.of(admin.rotate(operator, key_id, body.grace_seconds))


@router.get("/keys/{key_id}/audit")
def key_audit(
    key_id: str,
    admin: KeyAdminDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AuditList:
    """Who changed the key, and how, newest first (money movements are in its ledger)."""
    admin.show(key_id)
    return AuditList(data=[AuditView.of(e) for e in admin.changes.audit(key_id, limit=limit)])


@router.get("/keys/{key_id}/transactions")
def key_transactions(
    key_id: str,
    entries: EntriesDep,
    operator: OperatorDep,
    limit: PageLimit = 20,
    after: PageAfter = None,
) -> TransactionList:
    """The ledger of the key's account, newest first, as its holder sees it."""
    return transactions(entries, account_of(key_id), limit=limit, after=after)


class KeyUsage(UsageCounts):
    key_id: str


class UsageAcrossKeys(BaseModel):
    object: Literal["list"] = "list"
    start_time: int
    end_time: int
    data: list[KeyUsage]


@router.get("/usage")
def usage_across_keys(
    admin: KeyAdminDep,
    ledger: ChargeStoreDep,
    operator: OperatorDep,
    start_time: Annotated[
        int | None, Query(ge=0, description="Unix seconds (30 days ago).")
    ] = None,
    end_time: Annotated[int | None, Query(ge=1, description="Unix seconds (now).")] = None,
) -> UsageAcrossKeys:
    """Each key's requests, images, spend and refunds over a period."""
    start, end = period(start_time, end_time, now=time.time())
    per_key = admin.usage(ledger, start_ms=start * 1000, end_ms=end * 1000 - 1)
    data = [KeyUsage(key_id=k, **UsageCounts.of(totals(r)).model_dump()) for k, r in per_key]
    return UsageAcrossKeys(start_time=start, end_time=end, data=data)
