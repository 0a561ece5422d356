"""The credit ledger: every balance change is an entry, key holders page their own, and the
audit holds each balance (plus its holds) to its entries' sum."""

import random
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.aws.clients import dynamodb_client
from handler.core.errors import NotFound
from handler.core.outcomes import AlreadyPosted
from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import CardEvent, Disputed, DisputeWon, Paid, Refunded
from handler.core.schemas import GenerationRequest
from handler.core.spec_rules import build_spec
from handler.keys.auth import credentials_of
from handler.main.reconcile import lambda_handler as reconcile_handler
from handler.money.cards import CardTerms, CardTopUps
from handler.money.charging import Charging
from handler.money.ledger import off_ledger, operator_entry, typed_amount
from handler.money.policy import Meter
from handler.money.reconciler import RESERVATION_HOLD_MS, refund_abandoned
from handler.money.stored.audit import FOLD_AFTER_MS
from handler.money.stored.keys import key_record
from handler.money.stored.payments import DynamoDBPayments
from tests.support import (
    FakeLambdaContext,
    assert_error,
    balance_of,
    load_event,
    new_key,
    top_up,
)

URL = "/v1/images/generations"
TRANSACTIONS = "/v1/billing/transactions"
PRICE_1024 = 4000  # imagegate-preview, 1024x1024 (infra/catalog.json)


def _audits() -> dict[str, int]:
    now_ms = int(time.time() * 1000)
    return {a.key_id: a.difference for a in container.entries().audits(now_ms=now_ms)}


def test_each_balance_change_is_an_entry_the_key_pages_newest_first(client: TestClient) -> None:
    # Given a key opened with 0.1, a request of two images, one of none, and a top-up
    key_id, auth = new_key(balance=100_000)
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200
    refused = client.post(URL, headers=auth, json={"prompt": "a", "size": "7x7"})
    assert refused.status_code == 400  # refused before any charge: no entry
    top_up(key_id, 50_000)
    # When the key pages its ledger two at a time
    first = client.get(TRANSACTIONS, headers=auth, params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    # Then it sees the top-up, then the charge, newest first, and that there is more
    assert [(t["type"], t["amount"]) for t in page["data"]] == [
        ("topup", 50_000),
        ("charge", -2 * PRICE_1024),
    ]
    assert page["has_more"]
    assert page["last_id"] == page["data"][-1]["id"]
    charge = page["data"][1]
    assert (charge["model"], charge["reserved"], charge["refunded"]) == (
        "imagegate-preview",
        2 * PRICE_1024,
        0,
    )
    rest = client.get(TRANSACTIONS, headers=auth, params={"after": page["last_id"]}).json()
    assert [(t["type"], t["amount"], t["source"]) for t in rest["data"]] == [
        ("topup", 100_000, "cli")
    ]
    assert not rest["has_more"]
    # And the entries sum to the balance
    total = sum(t["amount"] for t in page["data"] + rest["data"])
    assert total == balance_of(key_id) == 150_000 - 2 * PRICE_1024


def test_a_key_sees_only_its_own_ledger_and_bad_cursors_are_400(client: TestClient) -> None:
    _, mine = new_key(balance=100_000)
    other_id, theirs = new_key(balance=200_000)
    [own] = client.get(TRANSACTIONS, headers=mine).json()["data"]
    assert own["amount"] == 100_000
    # Another key's cursor only bounds the caller's own ledger
    [their_entry] = client.get(TRANSACTIONS, headers=theirs).json()["data"]
    paged = client.get(TRANSACTIONS, headers=mine, params={"after": their_entry["id"]}).json()
    assert all(t["amount"] != 200_000 for t in paged["data"])
    bad = client.get(TRANSACTIONS, headers=mine, params={"after": "nope"})
    assert bad.status_code == 400
    assert_error(bad.json(), type_="invalid_request_error", param="after", code="invalid_value")
    assert client.get(TRANSACTIONS, headers=mine, params={"limit": 101}).status_code == 400
    assert client.get(TRANSACTIONS).status_code == 401
    assert other_id not in str(paged)


def test_a_failed_request_is_a_refund_entry_of_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.backends.preview import PreviewBackend
    from handler.core.errors import BackendError

    def broken(*_: Any) -> Any:
        raise BackendError("down")

    key_id, auth = new_key(balance=100_000)
    monkeypatch.setattr(PreviewBackend, "generate", broken)
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 502
    latest = client.get(TRANSACTIONS, headers=auth).json()["data"][0]
    assert (latest["type"], latest["amount"], latest["refunded"]) == ("refund", 0, PRICE_1024)
    assert _audits()[key_id] == 0


def test_posting_once_refuses_a_second_entry_of_its_reference(client: TestClient) -> None:
    key_id, _ = new_key(balance=0)
    entry = LedgerEntry(key_id, "topup", 5_000, 1_000, "cs_once", "stripe", source="card")
    assert container.entries().post(entry, once="first").balance == 5_000
    with pytest.raises(AlreadyPosted) as posted:
        container.entries().post(LedgerEntry(**{**_fields(entry), "at": 2_000}), once="second")
    assert posted.value.fingerprint == "first"  # what it was posted for, to tell a retry
    assert balance_of(key_id) == 5_000
    with pytest.raises(NotFound):
        container.entries().post(LedgerEntry(**{**_fields(entry), "key_id": "0" * 16}))


def _fields(entry: LedgerEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__slots__}


def test_the_audit_finds_a_balance_moved_without_its_entry(client: TestClient) -> None:
    key_id, auth = new_key(balance=100_000)
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    assert _audits()[key_id] == 0
    # When someone moves money past the ledger
    dynamodb_client().update_item(
        TableName="test-keystable",
        Key={"key_id": {"S": key_id}},
        UpdateExpression="ADD balance :more",
        ExpressionAttributeValues={":more": {"N": "1234"}},
    )
    # Then the reconciler reports it, and the metric counts it
    [wrong] = off_ledger(container.entries(), now_ms=int(time.time() * 1000))
    assert (wrong.key_id, wrong.difference) == (key_id, 1234)
    result = reconcile_handler(load_event("reconcile_schedule"), FakeLambdaContext())
    assert result["off_ledger"] == 1


def test_holds_count_until_settled_and_a_crash_is_refunded_into_the_ledger(
    client: TestClient,
) -> None:
    key_id, auth = new_key(balance=100_000)
    now = [time.time()]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    spec = build_spec(container.catalog().get(None), GenerationRequest(prompt="a", n=3), "req_x")
    billing.reserve(credentials_of(auth["Authorization"]), spec, Meter())
    # The hold is out of the balance, not yet an entry: the audit counts it
    assert balance_of(key_id) == 100_000 - 3 * PRICE_1024
    assert _audits()[key_id] == 0
    now[0] += RESERVATION_HOLD_MS / 1000
    [settled] = refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000))
    assert settled.refunded == 3 * PRICE_1024
    assert _audits()[key_id] == 0


def test_a_key_from_before_the_ledger_is_opened_once(client: TestClient) -> None:
    # Given a key written before the ledger: a balance, no entries, no mark
    dynamodb_client().put_item(
        TableName="test-keystable",
        Item={
            "key_id": {"S": "00000000000000aa"},
            "name": {"S": "old"},
            "secret_hash": {"S": "x"},
            "status": {"S": "active"},
            "created_at": {"N": "1"},
            "balance": {"N": "7000"},
            "spent": {"N": "3000"},
            "reservations": {"M": {}},
        },
    )
    # When it is audited twice
    assert _audits()["00000000000000aa"] == 0
    assert _audits()["00000000000000aa"] == 0
    # Then it has one opening entry of its balance
    page = container.entries().page("00000000000000aa", limit=10, before=None)
    assert [(e.kind, e.amount, e.reference) for e in page.entries] == [
        ("adjustment", 7000, "opening")
    ]


def test_old_entries_fold_into_a_checkpoint_and_the_sum_holds(client: TestClient) -> None:
    key_id, auth = new_key(balance=100_000)
    for _ in range(3):
        assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    later = int(time.time() * 1000) + FOLD_AFTER_MS + 60_000
    audits = {a.key_id: a for a in container.entries().audits(now_ms=later)}
    assert audits[key_id].difference == 0
    checkpoint = dynamodb_client().get_item(
        TableName="test-ledgertable", Key={"key_id": {"S": key_id}, "sk": {"S": "checkpoint"}}
    )["Item"]
    assert int(checkpoint["total"]["N"]) == 100_000 - 3 * PRICE_1024
    # Entries after the checkpoint still count
    top_up(key_id, 1)
    assert {a.key_id: a for a in container.entries().audits(now_ms=later)}[key_id].difference == 0
    assert balance_of(key_id) == 100_000 - 3 * PRICE_1024 + 1


class _CardEvents:
    """A card processor whose next verified event is the one a test sets."""

    next: CardEvent | None = None

    def checkout(self, order: Any) -> Any:
        raise NotImplementedError

    def charge_saved_card(self, customer: str, reload: Any) -> str:
        raise NotImplementedError

    def event(self, payload: bytes, signature: str | None) -> CardEvent | None:
        return self.next


def test_after_a_random_run_every_balance_is_its_ledger(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handler.backends.preview import PreviewBackend
    from handler.core.errors import BackendError

    real = PreviewBackend.generate
    rng = random.Random(19)
    fail = {"now": False}

    def flaky(self: PreviewBackend, spec: Any, deadline: Any) -> Any:
        if fail["now"]:
            raise BackendError("down")
        return real(self, spec, deadline)[: rng.randint(1, spec.n)]  # partial deliveries

    monkeypatch.setattr(PreviewBackend, "generate", flaky)
    keys = [new_key(balance=rng.randint(0, 60_000)) for _ in range(4)]
    now = [time.time()]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    cards = _CardEvents()
    payments: list[tuple[str, str, int]] = []  # (payment, key, amount)
    top_ups = CardTopUps(
        cards, DynamoDBPayments("test-keystable", "test-ledgertable"), CardTerms.of("usd", 1, 10**9)
    )
    for step in range(90):
        key_id, auth = rng.choice(keys)
        action = rng.random()
        if action < 0.15:  # card payments, their refunds and disputes, in any order, redelivered
            if not payments or rng.random() < 0.4:
                payments.append((f"pi_{step}", key_id, rng.randint(1, 30) * 10_000))
            payment, owner, paid = rng.choice(payments)
            events: list[CardEvent] = [
                Paid(payment, f"cs_{payment}", owner, paid),
                Refunded(payment, f"ch_{payment}", rng.randint(1, paid // 10_000) * 10_000),
                Disputed(payment, f"dp_{payment}", paid),
                DisputeWon(payment, f"dp_{payment}"),
            ]
            cards.next = rng.choice(events)
            top_ups.receive(b"", None)
        elif action < 0.5:
            fail["now"] = rng.random() < 0.2
            body = {"prompt": f"p{step}", "n": rng.randint(1, 4), "size": "256x256"}
            assert client.post(URL, headers=auth, json=body).status_code in (200, 402, 502)
        elif action < 0.65:
            top_up(key_id, rng.randint(1, 20_000))
        elif action < 0.8:
            amount = f"{'-' if rng.random() < 0.5 else ''}0.00{rng.randint(1, 9)}"
            micros = typed_amount(amount, signed=True)
            container.entries().post(
                operator_entry("adjustment", key_id, micros, "fix", actor="t", at=step)
            )
        else:  # a crash between reserve and settle
            spec = build_spec(
                container.catalog().get(None), GenerationRequest(prompt="x"), f"req_c{step}"
            )
            record = key_record(
                dynamodb_client().get_item(
                    TableName="test-keystable", Key={"key_id": {"S": key_id}}
                )["Item"]
            )
            if record.balance >= PRICE_1024:
                billing.reserve(credentials_of(auth["Authorization"]), spec, Meter())
        assert set(_audits().values()) == {0}
    now[0] += RESERVATION_HOLD_MS / 1000
    refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000))
    assert set(_audits().values()) == {0}
    for key_id, _ in keys:
        assert not container.key_store().get(key_id).open_reservations  # type: ignore[union-attr]
    # And the run moved money every way the ledger knows
    kinds = {
        entry.kind
        for key_id, _ in keys
        for entry in container.entries().page(key_id, limit=100, before=None).entries
    }
    assert kinds == {"topup", "adjustment", "charge", "refund", "reversal"}
