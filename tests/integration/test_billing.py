"""Money through the API and the ledger, on moto: prices, reserve/settle, refunds, usage,
rate windows, reconciliation of crashed reservations, and what the logs never show."""

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import accounts_container, container
from handler.aws.clients import dynamodb_client
from handler.backends.preview import PreviewBackend
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, RateLimited, StorageError
from handler.core.records.charges import Charge
from handler.core.records.keys import Owner
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from handler.keys.auth import credentials_of
from handler.money.charging import Charging
from handler.money.policy import Meter
from handler.money.reconciler import QUEUED_HOLD_MS, RESERVATION_HOLD_MS, refund_abandoned
from handler.observability import logger
from tests.image_samples import data_url, picture
from tests.support import (
    assert_error,
    balance_of,
    load_event,
    new_key,
    top_up,
    usage_of,
    within_one_minute,
)

URL = "/v1/images/generations"
PRICE_1024 = 4000  # imagegate-preview, 1024x1024, default steps (infra/catalog.json)


@pytest.fixture
def backend_calls(monkeypatch: pytest.MonkeyPatch) -> list[GenerationSpec]:
    """Every job the preview backend receives."""
    calls: list[GenerationSpec] = []
    render = PreviewBackend.generate

    def recording(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        calls.append(job)
        return render(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", recording)
    return calls


def test_success_charges_the_catalog_price_and_records_it(
    client: TestClient, backend_calls: list[GenerationSpec]
) -> None:
    key_id, auth = new_key(balance=100_000)
    response = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["cost"], body["remaining_balance"]) == (2 * PRICE_1024, 100_000 - 2 * PRICE_1024)
    assert body["usage"]["images"] == 2
    assert balance_of(key_id) == 100_000 - 2 * PRICE_1024
    [record] = usage_of(key_id)
    assert (record.status, record.charge.n, record.delivered) == ("succeeded", 2, 2)
    assert (record.charged, record.refunded) == (2 * PRICE_1024, 0)
    assert record.charge.request_id == body["id"] == response.headers["x-request-id"]
    assert container.key_store().get(key_id).open_reservations == {}  # type: ignore[union-attr]


def test_steps_quality_and_edits_set_the_price(client: TestClient) -> None:
    key_id, auth = new_key(balance=1_000_000)
    # 8 steps where the default is 4: twice the price; the "high" tier: the tier's table
    doubled = client.post(URL, headers=auth, json={"prompt": "a", "steps": 8}).json()
    assert doubled["cost"] == 2 * PRICE_1024
    high = client.post(URL, headers=auth, json={"prompt": "a", "quality": "high"}).json()
    assert high["cost"] == 8000
    small = client.post(URL, headers=auth, json={"prompt": "a", "size": "256x256"}).json()
    assert small["cost"] == 500
    # An input image: the edit table (preview: 1,000 more than a generation)
    edit = {"prompt": "a", "image": data_url(picture()), "size": "256x256"}
    assert client.post("/v1/images/edits", headers=auth, json=edit).json()["cost"] == 1500
    assert balance_of(key_id) == 1_000_000 - 2 * PRICE_1024 - 8000 - 500 - 1500


def test_insufficient_balance_is_402_before_any_gpu_work(
    client: TestClient, backend_calls: list[GenerationSpec]
) -> None:
    key_id, auth = new_key(balance=PRICE_1024 * 2 - 1)
    response = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 2})
    assert response.status_code == 402
    assert response.headers["x-should-retry"] == "false"
    assert_error(response.json(), type_="insufficient_quota", param=None, code="insufficient_quota")
    assert "0.008" in response.json()["error"]["message"]  # the price, in currency units
    assert backend_calls == []
    assert balance_of(key_id) == PRICE_1024 * 2 - 1
    assert usage_of(key_id) == []
    # A validation error costs nothing either, and never reaches the ledger
    assert client.post(URL, headers=auth, json={"prompt": ""}).status_code == 400
    assert balance_of(key_id) == PRICE_1024 * 2 - 1


def test_backend_failure_refunds_everything(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        raise BackendError("the GPU fell over")

    monkeypatch.setattr(PreviewBackend, "generate", broken)
    key_id, auth = new_key(balance=100_000)
    response = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 3})
    assert response.status_code == 502
    assert balance_of(key_id) == 100_000
    [record] = usage_of(key_id)
    assert (record.status, record.delivered, record.charged) == ("failed", 0, 0)
    assert (record.refunded, record.error_code) == (3 * PRICE_1024, "backend_error")
    assert container.key_store().get(key_id).spent == 0  # type: ignore[union-attr]


def test_partial_delivery_charges_only_what_was_delivered(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = PreviewBackend.generate

    def filtered(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        return render(self, job, deadline)[:1]  # a safety filter dropped the others

    monkeypatch.setattr(PreviewBackend, "generate", filtered)
    key_id, auth = new_key(balance=100_000)
    body = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 3}).json()
    assert (len(body["data"]), body["cost"]) == (1, PRICE_1024)
    assert body["remaining_balance"] == balance_of(key_id) == 100_000 - PRICE_1024
    [record] = usage_of(key_id)
    assert (record.status, record.delivered, record.refunded) == ("partial", 1, 2 * PRICE_1024)


def test_one_dynamodb_round_trip_before_the_backend_and_one_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, auth = new_key(balance=100_000)
    calls: list[str] = []
    dynamodb_client().meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    before_backend: list[list[str]] = []
    render = PreviewBackend.generate

    def counting(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        before_backend.append(list(calls))
        return render(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", counting)
    response = client.post(URL, headers=auth, json={"prompt": "a fox", "n": 2})
    assert response.status_code == 200
    # Authentication, rate limit and reservation: one conditional write
    assert before_backend == [["UpdateItem"]]
    # Settlement and usage record: one transaction
    assert calls == ["UpdateItem", "TransactWriteItems"]


def test_a_queued_lines_reservation_outlives_its_pending_backend_work(
    client: TestClient,
) -> None:
    # Given a batch line charged, its asynchronous backend work pending for a while
    key_id, _ = new_key(balance=100_000)
    now = [1_800_000_000.0]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    spec = build_spec(container.catalog().get(None), GenerationRequest(prompt="a"), "batch_x-0")
    billing.reserve(Owner(key_id), spec, Meter())
    # When reconciliation runs long after a request would have died, but while the line may
    # still be pending: the reservation is left for the attempt that collects the work
    now[0] += 2 * 3600
    assert refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000)) == []
    assert balance_of(key_id) == 100_000 - PRICE_1024
    # Then, past the longest pending and the run that collects it, it is refunded
    now[0] += QUEUED_HOLD_MS / 1000
    [reconciled] = refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000))
    assert reconciled.charge.request_id == "batch_x-0"
    assert balance_of(key_id) == 100_000


def test_a_crashed_reservation_is_reconciled_once(client: TestClient) -> None:
    key_id, auth = new_key(balance=100_000)
    plaintext = auth["Authorization"].removeprefix("Bearer ")
    # Given a reservation whose process died before settling (reserve, then nothing)
    now = [1_800_000_000.0]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    model = container.catalog().get(None)
    request = GenerationRequest(prompt="a fox", n=2)
    job = build_spec(model, request, "req_crashed")
    reservation = billing.reserve(credentials_of(f"Bearer {plaintext}"), job, Meter())
    assert balance_of(key_id) == 100_000 - 2 * PRICE_1024
    # When reconciliation runs while the request could still be running: it waits
    assert refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000)) == []
    # Then, once no request can still be running, the reservation is refunded, once
    now[0] += RESERVATION_HOLD_MS / 1000
    [reconciled] = refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000))
    assert (reconciled.status, reconciled.refunded) == ("reconciled", 2 * PRICE_1024)
    assert refund_abandoned(container.charge_store(), now_ms=int(billing.clock() * 1000)) == []
    assert balance_of(key_id) == 100_000
    [record] = usage_of(key_id)
    assert (record.status, record.error_code) == ("reconciled", "reservation_abandoned")
    # And a request that comes back late cannot settle it a second time
    with pytest.raises(StorageError):
        billing.settle(reservation, 2)
    assert balance_of(key_id) == 100_000


def test_reconcile_handler_runs_on_the_schedule_event(client: TestClient) -> None:
    from handler.main.reconcile import lambda_handler as reconcile_handler
    from tests.support import FakeLambdaContext

    key_id, auth = new_key(balance=100_000)
    # Given a reservation abandoned 17 minutes ago
    then = time.time() - 17 * 60
    billing = Charging(container.charge_store(), clock=lambda: then)
    job = build_spec(container.catalog().get(None), GenerationRequest(prompt="a"), "req_old")
    billing.reserve(credentials_of(auth["Authorization"]), job, Meter())
    # When the scheduled event arrives, it is refunded; the next tick finds nothing
    event = load_event("reconcile_schedule")
    assert reconcile_handler(event, FakeLambdaContext()) == {"reconciled": 1, "off_ledger": 0}
    assert reconcile_handler(event, FakeLambdaContext()) == {"reconciled": 0, "off_ledger": 0}
    assert balance_of(key_id) == 100_000


def test_rate_limit_headers_and_429(client: TestClient) -> None:
    within_one_minute()  # the requests below share one minute's window
    key_id, auth = new_key(balance=1_000_000, rpm=2, ipm=3)
    first = client.post(URL, headers=auth, json={"prompt": "a", "n": 2})
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-remaining-images"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    # Two more images than the window has left: 429 with Retry-After, nothing charged
    over = client.post(URL, headers=auth, json={"prompt": "a", "n": 2})
    assert over.status_code == 429
    assert_error(over.json(), type_="rate_limit_error", param=None, code="rate_limit_exceeded")
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert over.headers["x-ratelimit-remaining-requests"] == "1"
    assert balance_of(key_id) == 1_000_000 - 2 * PRICE_1024
    # n over the per-minute image limit can never pass: a 400 naming n
    never = client.post(URL, headers=auth, json={"prompt": "a", "n": 4})
    assert never.status_code == 400
    assert never.json()["error"]["param"] == "n"
    # Free routes report the window without spending it
    models = client.get("/v1/models", headers=auth)
    assert models.headers["x-ratelimit-remaining-requests"] == "1"


def test_rate_window_rolls_over_and_old_windows_are_cleared(client: TestClient) -> None:
    key_id, auth = new_key(balance=1_000_000, rpm=1, ipm=10)
    credentials = credentials_of(auth["Authorization"])
    now = [1_800_000_000.0]
    billing = Charging(container.charge_store(), clock=lambda: now[0])
    job = build_spec(container.catalog().get(None), GenerationRequest(prompt="a"), "req_1")
    billing.settle(billing.reserve(credentials, job, Meter()), 1)
    with pytest.raises(Exception, match="Rate limit"):
        billing.reserve(
            credentials, build_spec(job.model, GenerationRequest(prompt="a"), "r2"), Meter()
        )
    for minute in (1, 5):  # the next minute, then after an idle gap
        now[0] += minute * 60
        later = build_spec(job.model, GenerationRequest(prompt="a"), f"req_{minute + 2}")
        billing.settle(billing.reserve(credentials, later, Meter()), 1)
    record = container.key_store().get(key_id)
    assert record is not None
    assert list(record.requests_left) == [int(now[0] // 60)]  # past windows removed


def test_usage_endpoint_reports_the_callingnew_key(client: TestClient) -> None:
    key_id, auth = new_key(balance=100_000)
    client.post(URL, headers=auth, json={"prompt": "a", "n": 2})
    client.post(URL, headers=auth, json={"prompt": "a", "size": "256x256"})
    _, other = new_key(balance=100_000)
    client.post(URL, headers=other, json={"prompt": "a"})
    usage = client.get("/v1/usage", headers=auth)
    assert usage.status_code == 200
    body = usage.json()
    assert (body["object"], body["key_id"], body["balance"]) == ("usage", key_id, 91_500)
    assert (body["requests"], body["images"], body["spend"]) == (2, 3, 8_500)
    [day] = body["daily"]
    assert (day["requests"], day["spend"]) == (2, 8_500)
    assert day["models"] == [
        {
            "model": "imagegate-preview",
            "requests": 2,
            "images": 3,
            "spend": 8_500,
            "refunded": 0,
            "failed_requests": 0,
        }
    ]
    bad = client.get("/v1/usage?start_time=10&end_time=5", headers=auth)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "start_time"
    assert client.get("/v1/usage").status_code == 401


def test_unknown_revoked_and_wrong_secret_keys_are_401_and_cost_nothing(
    client: TestClient,
) -> None:
    key_id, auth = new_key(balance=100_000)
    plaintext = auth["Authorization"].removeprefix("Bearer ")
    wrong = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    unknown = "ig_00000000000000aa_" + plaintext.split("_", 2)[2]
    for key in (wrong, unknown):
        response = client.post(
            URL, headers={"Authorization": f"Bearer {key}"}, json={"prompt": "a"}
        )
        assert response.status_code == 401
        assert "x-ratelimit-limit-requests" not in response.headers
    accounts_container.key_admin().revoke("test", key_id)
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 401
    assert balance_of(key_id) == 100_000


@pytest.fixture
def everything_logged(
    log_lines: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> Callable[[], str]:
    """Our logger at DEBUG, every other library at INFO (botocore's DEBUG wire dumps hold
    request bodies, and are off unless someone turns them on)."""
    caplog.set_level("INFO")
    caplog.set_level("DEBUG", logger=logger.name)
    return lambda: json.dumps(log_lines()) + "\n".join(r.getMessage() for r in caplog.records)


def test_no_key_or_secret_hash_in_any_log_line(
    client: TestClient, everything_logged: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = new_key(balance=PRICE_1024)
    plaintext = auth["Authorization"].removeprefix("Bearer ")
    secret_hash = container.key_store().get(key_id).secret_hash  # type: ignore[union-attr]
    client.post(URL, headers=auth, json={"prompt": "a"})  # success
    client.post(URL, headers=auth, json={"prompt": "a"})  # 402
    client.post(URL, headers={**auth, "Idempotency-Key": "k1"}, json={"prompt": "a"})
    client.post(URL, headers={"Authorization": auth["Authorization"] + "x"}, json={"prompt": "a"})
    client.get("/v1/usage", headers=auth)

    def broken(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        raise RuntimeError(f"crash with {job!r}")

    top_up(key_id, 10 * PRICE_1024)
    monkeypatch.setattr(PreviewBackend, "generate", broken)
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 500
    logged = everything_logged()
    assert key_id in logged  # the logs do name the key, by its public id
    for secret in (plaintext, plaintext.split("_", 2)[2], secret_hash):
        assert secret not in logged


def test_generated_image_objects_carry_no_key_material(client: TestClient) -> None:
    _, auth = new_key(balance=100_000)
    body = client.post(URL, headers=auth, json={"prompt": "a"}).json()
    assert auth["Authorization"].split("_", 2)[2] not in json.dumps(body)


def test_a_resent_reservation_is_taken_once(client: TestClient) -> None:
    # botocore resends a write whose response was lost; the first attempt had committed
    key_id, auth = new_key(balance=100_000)
    job = build_spec(container.catalog().get(None), GenerationRequest(prompt="a"), "req_resent")
    charge = Charge("req_resent", job.model.id, "1024x1024", 1, PRICE_1024, 1_800_000_000_000)
    credentials = credentials_of(auth["Authorization"])
    first = container.charge_store().reserve(credentials, charge, minute=30_000_000)
    again = container.charge_store().reserve(credentials, charge, minute=30_000_000)
    assert first.balance == again.balance == balance_of(key_id) == 100_000 - PRICE_1024


def test_a_clock_behind_joins_the_later_window(client: TestClient) -> None:
    key_id, auth = new_key(balance=100_000, rpm=2)
    credentials = credentials_of(auth["Authorization"])
    model = container.catalog().get(None)
    ahead = Charging(container.charge_store(), clock=lambda: 1_800_000_060.0)
    behind = Charging(container.charge_store(), clock=lambda: 1_800_000_059.0)
    ahead.reserve(credentials, build_spec(model, GenerationRequest(prompt="a"), "r1"), Meter())
    behind.reserve(credentials, build_spec(model, GenerationRequest(prompt="a"), "r2"), Meter())
    # The window of the later minute took both; the earlier one was not reopened
    with pytest.raises(RateLimited):
        behind.reserve(credentials, build_spec(model, GenerationRequest(prompt="a"), "r3"), Meter())
    record = container.key_store().get(key_id)
    assert record is not None
    assert record.requests_left == {30_000_001: 0}


def test_extra_images_from_a_backend_are_neither_served_nor_charged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = PreviewBackend.generate

    def generous(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        return render(self, job, deadline) * 3

    monkeypatch.setattr(PreviewBackend, "generate", generous)
    key_id, auth = new_key(balance=100_000)
    body = client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).json()
    assert (len(body["data"]), body["cost"]) == (2, 2 * PRICE_1024)
    assert balance_of(key_id) == 100_000 - 2 * PRICE_1024


def test_a_key_from_before_billing_is_unfunded_until_topped_up(client: TestClient) -> None:
    from handler.core.keys import generate_key

    new = generate_key()
    dynamodb_client().put_item(
        TableName="test-keystable",
        Item={
            "key_id": {"S": new.key_id},
            "name": {"S": "old"},
            "secret_hash": {"S": new.secret_hash},
            "status": {"S": "active"},
            "created_at": {"N": "1"},
        },
    )
    auth = {"Authorization": f"Bearer {new.plaintext}"}
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 402
    top_up(new.key_id, 10 * PRICE_1024)
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200
    assert balance_of(new.key_id) == 9 * PRICE_1024


def test_a_ledger_outage_after_a_failure_keeps_the_first_error(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        raise BackendError("the GPU fell over")

    def unreachable(*args: object, **kwargs: object) -> None:
        raise StorageError("DynamoDB is away")

    monkeypatch.setattr(PreviewBackend, "generate", broken)
    key_id, auth = new_key(balance=100_000)
    monkeypatch.setattr(container.charge_store(), "settle", unreachable)
    response = client.post(URL, headers=auth, json={"prompt": "a"})
    # The client hears what went wrong first; the reservation waits for reconciliation
    assert (response.status_code, response.json()["error"]["code"]) == (502, "backend_error")
    record = container.key_store().get(key_id)
    assert record is not None
    assert list(record.open_reservations) == [response.headers["x-request-id"]]
