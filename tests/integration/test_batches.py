"""Batches end to end on the local stack (``local``, see conftest.py)."""

import json
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from handler import container
from handler.aws.clients import s3_client
from handler.money.charging import Charging
from tests.integration.conftest import Local
from tests.support import balance_of, new_key, usage_of

PRICE = 500  # imagegate-preview, 256x256, one image
LINES = 200


def batch_file() -> tuple[bytes, set[int]]:
    """200 lines; 10 of them (their indexes returned) cannot run."""
    bad = {
        7: "{not json",
        23: json.dumps({"method": "POST", "body": {"prompt": "no custom id"}}),
        41: json.dumps({"custom_id": "line-41", "body": {"prompt": "x", "size": "3x3"}}),
        58: json.dumps({"custom_id": "line-58", "body": {"prompt": "x", "model": "nope"}}),
        77: json.dumps({"custom_id": "line-77", "body": {"prompt": "x", "n": 99}}),
        95: json.dumps({"custom_id": "line-95", "body": {"prompt": ""}}),
        111: json.dumps({"custom_id": "line-111", "url": "/v1/chat/completions", "body": {}}),
        130: json.dumps({"custom_id": "line-0", "body": {"prompt": "duplicate id"}}),
        150: json.dumps({"custom_id": "line-150", "body": {"prompt": "x", "seed": -1}}),
        199: json.dumps({"custom_id": "line-199", "body": {"prompt": "x", "colour": "red"}}),
    }
    lines = []
    for index in range(LINES):
        good = {
            "custom_id": f"line-{index}",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {"prompt": f"product {index}", "size": "256x256", "seed": index},
        }
        lines.append(bad.get(index, json.dumps(good)))
    return ("\n".join(lines) + "\n").encode(), set(bad)


@pytest.fixture
def crashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two worker processes die, once each: one after generating line 57 and before settling
    it (its reservation stays open), one right after line 120's settlement committed (its
    message is never deleted)."""
    crashed: list[str] = []
    settle = Charging.settle

    def dying(self: Charging, reservation: Any, *args: Any, **kwargs: Any) -> Any:
        request_id = reservation.charge.request_id
        if request_id.endswith("-57") and request_id not in crashed:
            crashed.append(request_id)
            raise SystemExit("worker killed before settling")
        settled = settle(self, reservation, *args, **kwargs)
        if request_id.endswith("-120") and request_id not in crashed:
            crashed.append(request_id)
            raise SystemExit("worker killed after settling")
        return settled

    monkeypatch.setattr(Charging, "settle", dying)
    return crashed


def check_batch(
    local: Local,
    headers: dict[str, str],
    key_id: str,
    batch_id: str,
    invalid: set[int],
    funded: int,
) -> None:
    # The batch is finished, its counts and cost exact
    batch = local.client.get(f"/v1/batches/{batch_id}", headers=headers).json()
    assert batch["status"] == "completed_with_errors"
    assert batch["request_counts"] == {"total": LINES, "completed": 190, "failed": 10}
    assert batch["cost"] == 190 * PRICE
    # output.jsonl: exactly one line per input line, in order
    output = httpx.get(batch["output_url"]).text.splitlines()
    assert len(output) == LINES
    lines = [json.loads(line) for line in output]
    assert [line["id"] for line in lines] == [f"{batch_id}-{i}" for i in range(LINES)]
    failed = {
        i for i, line in enumerate(lines) if line["error"] or line["response"]["status_code"] != 200
    }
    assert failed == invalid
    assert lines[41]["response"]["body"]["error"]["param"] == "size"
    assert lines[7]["error"]["code"] == "invalid_json"
    # 190 images, each fetchable through the output route's fresh URLs
    urls = []
    start: str | None = "0"
    while start is not None:  # pages of 150 lines: two pages
        page = local.client.get(
            f"/v1/batches/{batch_id}/output",
            params={"start": start, "limit": 150},
            headers=headers,
        )
        urls += [
            item["url"]
            for line in map(json.loads, page.text.splitlines())
            if line["response"] and line["response"]["status_code"] == 200
            for item in line["response"]["body"]["data"]
        ]
        start = page.headers.get("x-next-start")
    assert len(urls) == 190
    for url in urls:
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.content.startswith(b"\x89PNG")
    # Charged exactly for the 190 images, nothing held back
    assert balance_of(key_id) == funded - 190 * PRICE
    record = container.key_store().get(key_id)
    assert record is not None
    assert not record.open_reservations
    charged = [usage for usage in usage_of(key_id) if usage.charged]
    assert sum(usage.charged for usage in charged) == 190 * PRICE
    assert len({usage.charge.request_id for usage in charged}) == 190


def test_a_batch_through_the_api_survives_crashes_and_charges_what_it_delivers(
    local: Local, crashes: list[str]
) -> None:
    # Given a funded key, limited to 5 requests a minute (queued lines are not), and a
    # 200-line batch with 10 lines that cannot run
    funded = 1_000_000
    key_id, headers = new_key(balance=funded, rpm=5, ipm=5)
    data, invalid = batch_file()
    # When it is submitted for upload, uploaded and run, with two worker crashes on the way
    created = local.client.post("/v1/batches", json={}, headers=headers)
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["status"] == "awaiting_upload"
    upload = httpx.post(batch["upload_url"], data=batch["upload_fields"], files={"file": data})
    assert upload.is_success, upload.text
    local.wait()
    # Then both crashes happened, and every promise holds
    assert sorted(crashes) == sorted([f"{batch['id']}-57", f"{batch['id']}-120"])
    check_batch(local, headers, key_id, batch["id"], invalid, funded)


def test_a_file_dropped_in_the_input_prefix_runs_the_same(local: Local, crashes: list[str]) -> None:
    # Given the same file, dropped under the paying key's id
    funded = 1_000_000
    key_id, headers = new_key(balance=funded)
    data, invalid = batch_file()
    s3_client().put_object(
        Bucket=local.bucket, Key=f"batches/input/{key_id}/catalogue.jsonl", Body=data
    )
    # When the stack has run it
    local.wait()
    # Then one batch exists for the key, with the same outcome
    batch_id = _only_batch_of(key_id)
    assert len(crashes) == 2
    check_batch(local, headers, key_id, batch_id, invalid, funded)


def _only_batch_of(key_id: str) -> str:
    from handler.aws.clients import dynamodb_client

    items = dynamodb_client().scan(TableName=os.environ["IMAGEGATE_WORK_TABLE"])["Items"]
    ids = {item["pk"]["S"] for item in items if item.get("key_id", {}).get("S") == key_id}
    assert len(ids) == 1, ids
    return ids.pop()


def test_a_file_that_names_no_key_is_refused(
    local: Local, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    s3_client().put_object(Bucket=local.bucket, Key="batches/input/orphan.jsonl", Body=b"{}\n")
    s3_client().put_object(
        Bucket=local.bucket, Key="batches/input/0000000000000000/x.jsonl", Body=b"{}\n"
    )
    local.wait()
    refused = [line for line in log_lines() if line["message"].startswith("batch input refused")]
    assert len(refused) == 2
