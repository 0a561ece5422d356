"""Money at its edges, in the deployed shape: HTTP → the local API Gateway → the API function
on the local stack, card payments through the Stripe stand-in, admin calls signed with
botocore's SigV4. Each refusal is asserted with its status and OpenAI's envelope, and the
ledger is asserted not to have moved; after every test, ``imagegate billing audit`` finds
every balance equal to its ledger."""

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from handler.cli.main import app
from handler.cli.stripe_stand_in import StripeStandIn
from handler.core.policy import MAX_EXPIRES_AT, MAX_PER_MINUTE
from tests.support import assert_error, cards_through_stripe, signed

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


@pytest.mark.parametrize("amount", ["1000000", "10.00", True, 1_000_000.0, None, [1]])
def test_money_is_read_only_from_whole_micro_units(
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
        # "10.00" is not ten micro-units, nor true one: each is refused as the wrong type
        assert refused.status_code == 400, (param, refused.text)
        assert_error(
            refused.json(), type_="invalid_request_error", param=param, code="invalid_type"
        )
        assert "micro-units" in refused.json()["error"]["message"]
    assert money(origin, key_id) == (TEN, [("topup", TEN)])
    assert "loose" not in [k["name"] for k in signed("GET", admin).json()["data"]]


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
