"""One model on two placements, in the deployed shape: HTTP → the local API Gateway → the API
function on the local stack, Bedrock played by its wire-format stand-in through boto3 and
Replicate by its HTTP stand-in through the replicate client. A throttled placement fails over
and the key pays once; a started one that times out is cancelled, not failed over; a circuit
opened here is seen by another process until it closes; every case's cost to the operator is
recorded beside its price."""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from handler import container
from handler.aws.clients import dynamodb_client
from handler.config import get_settings
from handler.core.records.charges import UsageRecord
from handler.money.stored.usage_items import records_between
from tests.fakes.bedrock_runtime import FakeBedrock
from tests.fakes.replicate_api import PREDICT_TIME, FakeReplicate
from tests.support import ROOT, signed

URL = "/v1/images/generations"
TEN = 10_000_000  # 10.00 in micro-units
PRICE = 50_000  # what the catalog below charges for one image
BEDROCK_COST = 40_000  # per image
REPLICATE_COST = 1_000  # per second of GPU
GRANTED = "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1"


def _catalog(folder: Path) -> Path:
    """The shipped catalog, plus ``fox``: flux's card on Bedrock (Stable Image Core in
    us-west-2) first and Replicate second; and ``fox-replicate-first``, the other way."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    entries = {model["id"]: model for model in catalog["models"]}
    flux, core = entries["flux-schnell"], entries["stable-image-core"]
    card = {k: v for k, v in flux.items() if k not in ("backend", "backend_params", "cost")}
    card.update(
        sizes=["1024x1024"],
        default_size="1024x1024",
        aliases=[],
        prices={"image": {"1024x1024": PRICE}},
        max_input_images=0,
        inpainting=False,
    )
    bedrock = {
        "id": "bedrock-west",
        "backend": "bedrock",
        "backend_params": core["backend_params"],
        "region": "us-west-2",
        "cost": {"per_image": BEDROCK_COST},
    }
    replicate = {
        "id": "replicate",
        "backend": "replicate",
        "backend_params": flux["backend_params"],
        "cost": {"per_second": REPLICATE_COST},
    }
    catalog["models"] += [
        {**card, "id": "fox", "placements": [bedrock, replicate]},
        {
            **card,
            "id": "fox-replicate-first",
            "placements": [{**replicate, "priority": 1}, bedrock],
        },
    ]
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


@dataclass
class Placed:
    origin: str
    bedrock: FakeBedrock
    replicate: FakeReplicate

    def key(self) -> tuple[str, dict[str, str]]:
        body = {"name": "placements", "balance": TEN}
        created = signed("POST", f"{self.origin}/admin/v1/keys", body)
        assert created.status_code == 200, created.text
        return created.json()["key"]["id"], {"Authorization": f"Bearer {created.json()['api_key']}"}

    def generate(self, auth: dict[str, str], model: str, prompt: str = "a fox") -> httpx.Response:
        body = {"model": model, "prompt": prompt, "response_format": "b64_json"}
        return httpx.post(f"{self.origin}{URL}", headers=auth, json=body, timeout=60)


@pytest.fixture
def placed(origin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Placed]:
    with FakeBedrock() as bedrock, FakeReplicate() as replicate:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.endpoint_url)
        monkeypatch.setenv("IMAGEGATE_BEDROCK_MODEL_ARNS", GRANTED)
        monkeypatch.setenv("IMAGEGATE_REPLICATE_API_TOKEN", replicate.token)
        monkeypatch.setenv("IMAGEGATE_REPLICATE_BASE_URL", replicate.base_url)
        monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(_catalog(tmp_path)))
        container.reset()
        yield Placed(origin, bedrock, replicate)


def _money(origin: str, key_id: str) -> tuple[int, list[tuple[str, int]]]:
    shown = signed("GET", f"{origin}/admin/v1/keys/{key_id}")
    ledger = signed("GET", f"{origin}/admin/v1/keys/{key_id}/transactions", None)
    return shown.json()["balance"], [(t["type"], t["amount"]) for t in ledger.json()["data"]]


def _usage(key_id: str) -> list[UsageRecord]:
    table = get_settings().usage_table
    return records_between(dynamodb_client(), table, key_id, 0, int(time.time() * 1000) + 1)


def test_a_throttled_placement_fails_over_and_the_key_pays_once(placed: Placed) -> None:
    key_id, auth = placed.key()
    # Given Bedrock throttling every call
    placed.bedrock.failing = "[throttle]"
    # When a request for fox comes
    response = placed.generate(auth, "fox")
    # Then Replicate made it, and the answer says where and why
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1
    assert response.headers["x-imagegate-placement"] == (
        'replicate; reason="failover from bedrock-west (backend_unavailable)"'
    )
    assert len(placed.bedrock.invocations) == 1
    assert len(placed.replicate.predictions) == 1
    # and the key paid the price once
    assert _money(placed.origin, key_id) == (TEN - PRICE, [("charge", -PRICE), ("topup", TEN)])
    # and what each attempt cost the operator is on the request's record: Bedrock ran
    # nothing it bills; Replicate billed its predict time
    (usage,) = _usage(key_id)
    assert (usage.placement, usage.delivered, usage.charged) == ("replicate", 1, PRICE)
    assert usage.operator_cost == round(REPLICATE_COST * PREDICT_TIME)


def test_a_started_placement_that_times_out_is_cancelled_not_failed_over(
    placed: Placed, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = placed.key()
    # Given an API timeout that leaves the backend about 4 s
    monkeypatch.setenv("IMAGEGATE_API_TIMEOUT_MS", "7000")
    container.reset()
    # When Replicate, tried first, starts and does not finish in time
    started = time.monotonic()
    response = placed.generate(auth, "fox-replicate-first", "a fox [slow]")
    took = time.monotonic() - started
    # Then: 504, its prediction cancelled, and Bedrock never asked
    assert response.status_code == 504, response.text
    assert response.json()["error"]["code"] == "backend_timeout"
    assert sorted(placed.replicate.cancellations) == sorted(placed.replicate.predictions)
    assert placed.replicate.running() == []
    assert placed.bedrock.invocations == []
    # and the key paid nothing
    assert _money(placed.origin, key_id) == (TEN, [("refund", 0), ("topup", TEN)])
    # but what the GPU ran until the cancel cost the operator is recorded
    (usage,) = _usage(key_id)
    assert (usage.placement, usage.error_code, usage.charged) == ("replicate", "backend_timeout", 0)
    assert 0 < usage.operator_cost <= REPLICATE_COST * took + 1


ROUTE_AT = """
import json, sys
from handler import container, generation_container
from handler.config import get_settings
from handler.core.deadline import Deadline
from handler.core.schemas import GenerationRequest
from handler.core.spec_rules import build_spec
from handler.generation.routing import Router
from handler.stores.circuits import DynamoDBCircuits

at = float(sys.argv[1])
circuits = DynamoDBCircuits(get_settings().idempotency_table, clock=lambda: at)
router = Router(generation_container.backends(), circuits, clock=lambda: at)
spec = build_spec(container.catalog().get("fox"), GenerationRequest(prompt="a fox"), "req_1")
routed = router.route(spec, Deadline.after(60))
print(json.dumps({"order": [m.bound.id for m in routed.models], "reason": routed.reason}))
"""


def _route_elsewhere(at: float) -> dict[str, Any]:
    """How another process (another Lambda instance) routes fox at ``at``."""
    ran = subprocess.run(
        [sys.executable, "-c", ROUTE_AT, str(at)],
        env=os.environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    answer: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    return answer


def test_an_open_circuit_is_skipped_by_other_instances_until_it_closes(placed: Placed) -> None:
    _, auth = placed.key()
    placed.bedrock.failing = "[throttle]"
    # Given three throttled requests, each failed over to Replicate
    for _ in range(3):
        assert placed.generate(auth, "fox").status_code == 200
    assert len(placed.bedrock.invocations) == 3
    opened = time.time()
    # Then the next one here does not ask Bedrock
    response = placed.generate(auth, "fox")
    assert response.status_code == 200
    assert len(placed.bedrock.invocations) == 3
    assert response.headers["x-imagegate-placement"] == (
        'replicate; reason="priority; bedrock-west circuit open"'
    )
    # and neither does another process
    assert _route_elsewhere(opened) == {
        "order": ["replicate"],
        "reason": "priority; bedrock-west circuit open",
    }
    # until the circuit closes, for every process
    assert _route_elsewhere(opened + 31)["order"] == ["bedrock-west", "replicate"]


def test_the_report_gives_each_placements_margin_and_customers_see_no_cost(
    placed: Placed,
) -> None:
    key_id, auth = placed.key()
    # Given one fox made on Bedrock, and one made on Replicate after Bedrock throttled
    assert placed.generate(auth, "fox").status_code == 200
    placed.bedrock.failing = "[throttle]"
    assert placed.generate(auth, "fox").status_code == 200
    # When the operator reads the report
    answer = signed("GET", f"{placed.origin}/admin/v1/report")
    assert answer.status_code == 200, answer.text
    margins = answer.json()["margins"]
    # Then each placement shows what it was paid, what it cost and what that left
    rows = {row["placement"]: row for row in margins["by_placement"] if row["model"] == "fox"}
    replicate_cost = round(REPLICATE_COST * PREDICT_TIME)
    assert rows == {
        "bedrock-west": _margin(PRICE, BEDROCK_COST, placement="bedrock-west"),
        "replicate": _margin(PRICE, replicate_cost, placement="replicate"),
    }
    # and the key's account its two requests together
    (account,) = [row for row in margins["by_account"] if row["account_id"] == key_id]
    assert (account["revenue"], account["cost"], account["requests"]) == (
        2 * PRICE,
        BEDROCK_COST + replicate_cost,
        2,
    )
    # but the customer's own views never say what a request cost the operator
    for path in ("/v1/usage/requests", "/v1/billing/transactions"):
        shown = httpx.get(f"{placed.origin}{path}", headers=auth, timeout=30)
        assert shown.status_code == 200, shown.text
        assert len(shown.json()["data"]) >= 2
        fields = {name for row in shown.json()["data"] for name in row}
        assert not fields & {"operator_cost", "margin", "placement"}, path
        assert not {str(BEDROCK_COST), str(replicate_cost)} & set(re.findall(r"\d+", shown.text))


def _margin(revenue: int, cost: int, **names: str) -> dict[str, Any]:
    return {
        **names,
        "model": "fox",
        "revenue": revenue,
        "cost": cost,
        "margin": revenue - cost,
        "requests": 1,
    }
