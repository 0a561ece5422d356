"""Money at its edges, in the deployed shape: HTTP → the local API Gateway → the API function
on the local stack, card payments through the Stripe stand-in, admin calls signed with
botocore's SigV4. Each refusal is asserted with its status and OpenAI's envelope, and the
ledger is asserted not to have moved; after every test, ``imagegate billing audit`` finds
every balance equal to its ledger."""

import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from handler.aws.clients import dynamodb_client
from handler.cli.main import app
from handler.cli.stripe_stand_in import StripeStandIn, sign
from handler.config import get_settings
from handler.money.policy import MAX_EXPIRES_AT, MAX_PER_MINUTE
from tests.support import STRIPE_WEBHOOK_SECRET, assert_error, cards_through_stripe, signed

URLS = {"success_url": "https://example.com/paid", "cancel_url": "https://example.com/no"}
TEN = 10_000_000  # 10.00 in micro-units


@pytest.fixture
def stripe(origin: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeStandIn]:
    with cards_through_stripe(monkeypatch) as stand_in:
        yield stand_in


@pytest.fixture(autouse=True)
def audited(origin: str) -> Iterator[None]:
    """After each test, the operator's audit: no balance off its ledger."""
    yield
    tables = ["--table", os.environ["IMAGEGATE_KEYS_TABLE"]]
    tables += ["--ledger-table", os.environ["IMAGEGATE_LEDGER_TABLE"]]
    audit = CliRunner().invoke(app, ["billing", *tables, "audit", "--json"])
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout) == []


def new_key(origin: str, balance: int = 0) -> tuple[str, dict[str, str]]:
    """A key made by the admin API: its id, and the bearer header that presents it."""
    created = signed("POST", f"{origin}/admin/v1/keys", {"name": "edges", "balance": balance})
    assert created.status_code == 200, created.text
    return created.json()["key"]["id"], {"Authorization": f"Bearer {created.json()['api_key']}"}


def money(origin: str, key_id: str) -> tuple[int, list[tuple[str, int]]]:
    """The key's balance, and its ledger (type, amount), newest first."""
    shown = signed("GET", f"{origin}/admin/v1/keys/{key_id}")
    ledger = signed("GET", f"{origin}/admin/v1/keys/{key_id}/transactions", None)
    rows = [(t["type"], t["amount"]) for t in ledger.json()["data"]]
    return shown.json()["balance"], rows


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_checkout_key_reused_for_another_amount_is_a_conflict_not_a_retry(
    origin: str, stripe: StripeStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    key_id, auth = new_key(origin)
    url, headers = f"{origin}/v1/billing/checkout", {**auth, "Idempotency-Key": "top-up-1"}
    # Given a checkout made with an Idempotency-Key, and its retry
    first = httpx.post(url, headers=headers, json={"amount": TEN, **URLS})
    again = httpx.post(url, headers=headers, json={"amount": TEN, **URLS})
    assert first.status_code == again.status_code == 200, again.text
    assert "idempotent-replayed" not in first.headers
    assert (again.json()["id"], again.headers["idempotent-replayed"]) == (
        first.json()["id"],
        "true",
    )
    # When the key comes again with another amount
    other = httpx.post(url, headers=headers, json={"amount": 2 * TEN, **URLS})
    # Then it is a 409 no SDK retries, nothing is logged as our failure, nothing moved
    assert other.status_code == 409, other.text
    assert other.headers.get("x-should-retry") != "true"
    assert_error(other.json(), type_="conflict", param=None, code="idempotency_key_reused")
    no_errors_logged(caplog)
    assert money(origin, key_id) == (0, [])


def test_an_admin_movement_key_reused_with_another_body_conflicts_and_moves_nothing(
    origin: str,
) -> None:
    key_id, _ = new_key(origin, balance=5_000_000)
    topups = f"{origin}/admin/v1/keys/{key_id}/topups"
    body = {"amount": 1_000_000, "reason": "invoice 9"}
    # Given a top-up with an Idempotency-Key, and its retry: the first answer, marked
    first = signed("POST", topups, body, idempotency_key="invoice-9")
    again = signed("POST", topups, body, idempotency_key="invoice-9")
    assert first.status_code == again.status_code == 200, again.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # When the key comes with another amount, or as an adjustment
    adjustments = f"{origin}/admin/v1/keys/{key_id}/adjustments"
    for url, other in (
        (topups, {**body, "amount": 5_000_000}),
        (topups, {**body, "reason": "invoice 10"}),
        (adjustments, {**body, "amount": -1}),
    ):
        refused = signed("POST", url, other, idempotency_key="invoice-9")
        # Then it is a 409, as on the generation routes, and the balance did not move
        assert refused.status_code == 409, refused.text
        assert refused.headers["x-should-retry"] == "false"
        assert_error(refused.json(), type_="conflict", param=None, code="idempotency_key_reused")
    assert money(origin, key_id) == (6_000_000, [("topup", 1_000_000), ("topup", 5_000_000)])


def test_the_ledger_still_refuses_a_reused_key_once_its_record_has_lapsed(origin: str) -> None:
    key_id, _ = new_key(origin)
    topups = f"{origin}/admin/v1/keys/{key_id}/topups"
    body = {"amount": 1_000_000}
    assert signed("POST", topups, body, idempotency_key="k").status_code == 200
    # Given the idempotency records are gone (they last 24 hours; the ledger's mark, for good)
    client, table = dynamodb_client(), get_settings().idempotency_table
    for item in client.scan(TableName=table)["Items"]:
        client.delete_item(TableName=table, Key={"id": item["id"]})
    # When the key comes again: with another body, a 409; with the same, nothing again
    other = signed("POST", topups, {"amount": 2_000_000}, idempotency_key="k")
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    same = signed("POST", topups, body, idempotency_key="k")
    assert (same.status_code, same.json()["balance"]) == (200, 1_000_000)
    assert money(origin, key_id) == (1_000_000, [("topup", 1_000_000)])


@pytest.mark.parametrize(
    "amount", ["1000000", "10", "1e6", "0.1234567", True, 1_000_000.0, None, [1]]
)
def test_money_is_a_decimal_string_or_whole_micro_units_and_nothing_else(
    origin: str, stripe: StripeStandIn, amount: Any
) -> None:
    key_id, auth = new_key(origin, balance=TEN)
    admin = f"{origin}/admin/v1/keys"
    for refused, param in (
        (signed("POST", f"{admin}/{key_id}/topups", {"amount": amount}), "amount"),
        (
            signed("POST", f"{admin}/{key_id}/adjustments", {"amount": amount, "reason": "x"}),
            "amount",
        ),
        (signed("POST", admin, {"name": "loose", "balance": amount}), "balance"),
        (signed("PATCH", f"{admin}/{key_id}", {"daily_spend_cap": amount}), "daily_spend_cap"),
        (
            httpx.post(
                f"{origin}/v1/billing/checkout", headers=auth, json={"amount": amount, **URLS}
            ),
            "amount",
        ),
    ):
        if amount is None and param == "daily_spend_cap":
            continue  # null lifts a cap
        # "1000000" could be a million units or a million micro-units, true one: each is
        # refused as the wrong type, with both forms an amount takes
        assert refused.status_code == 400, (param, refused.text)
        assert_error(
            refused.json(), type_="invalid_request_error", param=param, code="invalid_type"
        )
        assert "micro-units (10000000)" in refused.json()["error"]["message"]
        assert '"10.00"' in refused.json()["error"]["message"]
    assert money(origin, key_id) == (TEN, [("topup", TEN)])
    assert "loose" not in [k["name"] for k in signed("GET", admin).json()["data"]]


def test_a_decimal_string_is_currency_units_as_an_integer_is_micro_units(origin: str) -> None:
    # Given ten units given as a string, and the same as micro-units
    key_id, _ = new_key(origin)
    topups = f"{origin}/admin/v1/keys/{key_id}/topups"
    assert signed("POST", topups, {"amount": "10.00"}).status_code == 200
    assert signed("POST", topups, {"amount": TEN}).status_code == 200
    adjusted = signed(
        "POST", f"{origin}/admin/v1/keys/{key_id}/adjustments", {"amount": "-0.5", "reason": "x"}
    )
    assert adjusted.status_code == 200, adjusted.text
    # Then each moved the balance by what it says, to the micro-unit
    assert money(origin, key_id) == (
        2 * TEN - 500_000,
        [("adjustment", -500_000), ("topup", TEN), ("topup", TEN)],
    )
    # A top-up of nothing, or less, is no top-up, either way it is written
    for nothing in ("0.00", "-1.00", 0):
        assert signed("POST", topups, {"amount": nothing}).status_code == 400


@pytest.mark.parametrize("field", ["requests_per_minute", "images_per_minute", "expires_at"])
def test_numbers_a_key_keeps_are_bounded(origin: str, field: str) -> None:
    key_id, _ = new_key(origin)
    admin = f"{origin}/admin/v1/keys"
    before = signed("GET", f"{admin}/{key_id}").json()
    for huge in (10**200, 10**38):
        made = signed("POST", admin, {"name": "huge", field: huge})
        changed = signed("PATCH", f"{admin}/{key_id}", {field: huge})
        for refused in (made, changed):
            assert refused.status_code == 400, refused.text
            assert_error(
                refused.json(), type_="invalid_request_error", param=field, code="invalid_value"
            )
    assert signed("GET", f"{admin}/{key_id}").json() == before
    # The bound itself is taken
    bound = MAX_EXPIRES_AT if field == "expires_at" else MAX_PER_MINUTE
    assert signed("PATCH", f"{admin}/{key_id}", {field: bound}).json()[field] == bound


def _event(kind: str, thing: Any) -> dict[str, Any]:
    return {"id": f"evt_{time.time_ns()}", "type": kind, "data": {"object": thing}}


def _deliver(origin: str, event: Any) -> httpx.Response:
    """``event``, signed as Stripe signs its events."""
    payload = json.dumps(event)
    headers = {"stripe-signature": sign(payload, STRIPE_WEBHOOK_SECRET, int(time.time()))}
    return httpx.post(f"{origin}/webhooks/stripe", content=payload.encode(), headers=headers)


def _session(key_id: str) -> dict[str, Any]:
    return {
        "id": f"cs_{time.time_ns()}",
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": f"pi_{time.time_ns()}",
        "amount_total": 1000,
        "currency": get_settings().card_currency,
        "customer": None,
        "metadata": {"key_id": key_id},
    }


@pytest.mark.parametrize(
    "malformed",
    [
        {"object": []},
        {"object": "cs_1"},
        {"metadata": ["key_id"]},
        {"metadata": "key_id"},
        {"amount_total": "1000"},
        {"amount_total": True},
        {"amount_total": 10.5},
        {"amount_total": -1000},
        {"payment_intent": {"id": "pi_1"}},
    ],
    ids=str,
)
def test_a_signed_event_of_another_shape_is_refused_and_credits_nothing(
    origin: str, stripe: StripeStandIn, malformed: dict[str, Any]
) -> None:
    key_id, _ = new_key(origin)
    session = _session(key_id)
    thing = malformed.get("object", {**session, **malformed})
    for kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        refused = _deliver(origin, _event(kind, thing))
        assert refused.status_code == 400, refused.text
        assert_error(
            refused.json(), type_="invalid_request_error", param=None, code="invalid_event"
        )
    assert money(origin, key_id) == (0, [])
    # The same event as Stripe shapes it credits the key
    assert _deliver(origin, _event("checkout.session.completed", session)).status_code == 200
    assert money(origin, key_id) == (TEN, [("topup", TEN)])


@pytest.mark.parametrize(
    "kind", ["charge.refunded", "charge.dispute.created", "payment_intent.succeeded"]
)
@pytest.mark.parametrize("thing", [[], "ch_1", {"id": "ch_1", "metadata": "x"}], ids=str)
def test_no_signed_event_is_a_server_error(
    origin: str, stripe: StripeStandIn, kind: str, thing: Any
) -> None:
    answer = _deliver(origin, _event(kind, thing))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_event"
    for unread in (_event("customer.created", []), {"type": "charge.refunded", "data": "x"}):
        assert _deliver(origin, unread).status_code < 500


def test_an_event_for_a_key_not_here_is_acknowledged_and_logged(
    origin: str, stripe: StripeStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a paid session of another deployment on the same Stripe account
    event = _event("checkout.session.completed", _session("0123456789abcdef"))
    # When Stripe delivers it: acknowledged (not a 404 it would retry for days), and logged
    for _ in range(2):
        answer = _deliver(origin, event)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": True}
    assert "card event for no key here" in [r.getMessage() for r in caplog.records]
    no_errors_logged(caplog)
