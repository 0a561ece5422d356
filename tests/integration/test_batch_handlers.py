"""The batch functions driven with the sample events in events/, on moto in-process, and the
lifecycle cases a running stack makes hard to time: cancellation, dead letters, replays."""

import json
import os

import pytest
from fastapi.testclient import TestClient

from handler import container, generation_container, work_container
from handler.aws.clients import dynamodb_client, s3_client, sqs_client
from handler.core.deadline import Deadline
from handler.core.records.keys import Owner
from handler.core.records.work import Batch, WorkItem
from handler.core.schemas import parse_request
from handler.core.spec_rules import build_spec
from handler.main.dead_letter import lambda_handler as dead_letter_handler
from handler.main.splitter import lambda_handler as splitter_handler
from handler.main.worker import lambda_handler as worker_handler
from handler.money.policy import Meter
from handler.stores.queue import from_message
from tests.image_samples import data_url, noise
from tests.support import (
    FakeLambdaContext,
    balance_of,
    load_event,
    new_key,
    usage_of,
)

SAMPLE_BATCH = "batch_5a3b1e00000000000000sample"
SAMPLE_KEY_ID = "5a3b1e0000000001"
PRICE = 500
CONTEXT = FakeLambdaContext(function_name="imagegate-WorkerFunction", remaining_ms=300_000)


def queued() -> list[WorkItem]:
    """Take every message off the work queue."""
    url = os.environ["IMAGEGATE_WORK_QUEUE_URL"]
    items: list[WorkItem] = []
    while True:
        messages = (
            sqs_client().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        )
        if not messages:
            return items
        for message in messages:
            items.append(from_message(message["Body"]))
            sqs_client().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def sample_batch(total: int) -> None:
    created = container.work_store().create(
        Batch(SAMPLE_BATCH, SAMPLE_KEY_ID, "in_progress", 1_795_256_000, total=total)
    )
    assert created


@pytest.mark.usefixtures("sample_event_key")
def test_the_sample_s3_event_splits_its_file_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sample event's bucket, holding its file: two good lines and one bad
    monkeypatch.setenv("IMAGEGATE_IMAGES_BUCKET", "imagegate-sample-images")
    container.reset()
    s3_client().create_bucket(Bucket="imagegate-sample-images")
    lines = [
        {"custom_id": "a", "body": {"prompt": "a", "size": "256x256"}},
        {"custom_id": "b", "body": {"prompt": "b", "size": "256x256"}},
        {"custom_id": "c", "body": {"prompt": "c", "size": "1x1"}},
    ]
    s3_client().put_object(
        Bucket="imagegate-sample-images",
        Key="batches/input/5a3b1e0000000001/products.jsonl",
        Body="".join(json.dumps(line) + "\n" for line in lines).encode(),
    )
    event = load_event("s3_batch_input")
    # When the splitter gets the event, twice (SQS delivers at least once)
    assert splitter_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert splitter_handler(event, CONTEXT) == {"batchItemFailures": []}
    # Then the two good lines are queued once, and the bad one is its error already
    assert [(item.index, item.custom_id) for item in queued()] == [(0, "a"), (1, "b")]
    [batch_id] = {
        item["pk"]["S"]
        for item in dynamodb_client().scan(TableName=os.environ["IMAGEGATE_WORK_TABLE"])["Items"]
    }
    batch = container.work_store().get(batch_id)
    assert batch is not None
    assert (batch.status, batch.total, batch.failed, batch.key_id) == (
        "in_progress",
        3,
        1,
        SAMPLE_KEY_ID,
    )


@pytest.mark.usefixtures("sample_event_key")
def test_the_sample_work_lines_are_charged_once_however_often_delivered() -> None:
    # Given the sample lines' batch, of three lines
    sample_batch(total=3)
    before = balance_of(SAMPLE_KEY_ID)
    event = load_event("sqs_work_lines")
    # When the worker gets its event twice
    assert worker_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert worker_handler(event, CONTEXT) == {"batchItemFailures": []}
    # Then two lines are recorded, charged once each
    results = container.work_store().results(SAMPLE_BATCH)
    assert [(result.custom_id, result.status_code, result.cost) for result in results] == [
        ("sneaker-red", 200, PRICE),
        ("sneaker-blue", 200, PRICE),
    ]
    assert balance_of(SAMPLE_KEY_ID) == before - 2 * PRICE
    assert len(usage_of(SAMPLE_KEY_ID)) == 2
    batch = container.work_store().get(SAMPLE_BATCH)
    assert batch is not None
    assert (batch.status, batch.succeeded, batch.cost) == ("in_progress", 2, 2 * PRICE)


@pytest.mark.usefixtures("sample_event_key")
def test_a_dead_letter_records_its_error_refunds_its_hold_and_finishes_the_batch() -> None:
    # Given a batch whose first two lines ran, and whose third died holding a reservation
    sample_batch(total=3)
    before = balance_of(SAMPLE_KEY_ID)
    worker_handler(load_event("sqs_work_lines"), CONTEXT)
    item = from_message(load_event("sqs_dead_letter")["Records"][0]["body"])
    request = parse_request(item.body)
    job = build_spec(container.catalog().get(None), request, f"{SAMPLE_BATCH}-2")
    container.charging().reserve(Owner(SAMPLE_KEY_ID), job, Meter())
    assert balance_of(SAMPLE_KEY_ID) == before - 3 * PRICE
    # When its message comes off the dead-letter queue
    assert dead_letter_handler(load_event("sqs_dead_letter"), CONTEXT) == {"batchItemFailures": []}
    # Then its error is its result, its hold is refunded, and the batch is finished
    result = container.work_store().result(SAMPLE_BATCH, 2)
    assert result is not None
    assert result.body["code"] == "processing_failed"
    assert balance_of(SAMPLE_KEY_ID) == before - 2 * PRICE
    record = container.key_store().get(SAMPLE_KEY_ID)
    assert record is not None
    assert not record.open_reservations
    batch = container.work_store().get(SAMPLE_BATCH)
    assert batch is not None
    assert batch.status == "completed_with_errors"
    assert batch.output_key == f"batches/{SAMPLE_BATCH}/output.jsonl"
    output = s3_client().get_object(
        Bucket=os.environ["IMAGEGATE_IMAGES_BUCKET"], Key=batch.output_key
    )
    lines = [json.loads(line) for line in output["Body"].read().splitlines()]
    assert [line["custom_id"] for line in lines] == ["sneaker-red", "sneaker-blue", "sneaker-green"]
    assert lines[2]["response"] is None
    assert lines[2]["error"]["code"] == "processing_failed"


def run(items: list[WorkItem]) -> None:
    for item in items:
        generation_container.worker().run(item, Deadline.after(60))


def test_cancelling_a_batch_leaves_unstarted_lines_unpaid(client: TestClient) -> None:
    # Given a running batch of six lines, two of which have run
    key_id, headers = new_key(balance=100_000)
    lines = [
        {"custom_id": f"l{i}", "body": {"prompt": f"p{i}", "size": "256x256"}} for i in range(6)
    ]
    created = client.post("/v1/batches", json={"input": lines}, headers=headers).json()
    assert created["status"] == "validating"
    batch = container.work_store().get(created["id"])
    assert batch is not None
    key = f"batches/input/{key_id}/{batch.id}.jsonl"
    work_container.splitter().split(os.environ["IMAGEGATE_IMAGES_BUCKET"], key, "etag")
    items = queued()
    assert len(items) == 6
    run(items[:2])
    # When it is cancelled, and the rest of its messages arrive
    cancelled = client.post(f"/v1/batches/{batch.id}/cancel", headers=headers).json()
    assert cancelled["status"] == "cancelling"
    run(items[2:])
    # Then it is cancelled, the four unstarted lines say so, and only two were paid for
    done = client.get(f"/v1/batches/{batch.id}", headers=headers).json()
    assert done["status"] == "cancelled"
    # (as OpenAI counts them: the four it stopped neither completed nor failed)
    assert done["request_counts"] == {"total": 6, "completed": 2, "failed": 0}
    assert done["cost"] == 2 * PRICE
    assert balance_of(key_id) == 100_000 - 2 * PRICE
    results = list(container.work_store().results(batch.id))
    codes = [result.body.get("code") for result in results[2:]]
    assert codes == ["batch_cancelled"] * 4
    # And another key can neither see nor cancel it
    _, other = new_key(balance=0)
    assert client.get(f"/v1/batches/{batch.id}", headers=other).status_code == 404
    assert client.post(f"/v1/batches/{batch.id}/cancel", headers=other).status_code == 404


def test_a_cancel_while_splitting_and_a_second_split_still_end_the_batch_whole(
    client: TestClient,
) -> None:
    # Given a batch of four lines cancelled before its file was split
    key_id, headers = new_key(balance=100_000)
    lines = [{"custom_id": f"c{i}", "body": {"prompt": "p", "size": "256x256"}} for i in range(4)]
    batch_id = client.post("/v1/batches", json={"input": lines}, headers=headers).json()["id"]
    assert client.post(f"/v1/batches/{batch_id}/cancel", headers=headers).json()["status"] == (
        "cancelling"
    )
    # When the splitter runs (twice: the notification came twice) and the lines arrive
    key = f"batches/input/{key_id}/{batch_id}.jsonl"
    for _ in range(2):
        work_container.splitter().split(os.environ["IMAGEGATE_IMAGES_BUCKET"], key, "etag")
    items = queued()
    run(items[:1])
    # Then the batch waits for every line, counted once, and ends with four unpaid lines
    waiting = container.work_store().get(batch_id)
    assert waiting is not None
    assert (waiting.status, waiting.total) == ("cancelling", 4)
    run(items[1:])
    done = client.get(f"/v1/batches/{batch_id}", headers=headers).json()
    assert done["status"] == "cancelled"
    assert done["request_counts"] == {"total": 4, "completed": 0, "failed": 0}
    assert balance_of(key_id) == 100_000


def test_a_duplicate_attempt_sharing_a_reservation_ends_quietly(aws: None) -> None:
    # Given a line two deliveries run at once: B reserved first, A then ran it through
    key_id, _ = new_key(balance=10_000)
    container.work_store().create(Batch("batch_dup", key_id, "in_progress", 1_795_256_000, total=1))
    item = WorkItem("batch_dup", 0, "only", {"prompt": "p", "size": "256x256"})
    lines = generation_container.line_runner()
    job = build_spec(container.catalog().get(None), parse_request(item.body), "batch_dup-0")
    b_reservation = lines.paid.reserve(Owner(key_id), job, Meter())
    recorded = lines.run(item, owner=Owner(key_id), deadline=Deadline.after(60), prefix="x")
    # When B finishes too, and finds the line recorded
    lines.paid.settle(b_reservation, 1, None, recorded)
    # Then the line was paid for once, and nothing is left reserved
    assert balance_of(key_id) == 10_000 - PRICE
    record = container.key_store().get(key_id)
    assert record is not None
    assert not record.open_reservations


def test_submissions_refuse_what_cannot_be_queued(client: TestClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    # An async body over a queue message's size
    image = data_url(noise((512, 512)))  # about 1 MB of PNG
    big = {"prompt": "x", "size": "512x512", "image": image, "async": True}
    too_big = client.post("/v1/images/generations", json=big, headers=headers)
    assert too_big.status_code == 413
    # A webhook that is not https (a deployed stack: no local receivers)
    local_hook = {"prompt": "x", "async": True, "webhook_url": "http://127.0.0.1:9001/x"}
    refused = client.post("/v1/images/generations", json=local_hook, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "webhook_url"
    # Metadata over OpenAI's limits
    tagged = client.post("/v1/batches", json={"metadata": {"k": "v" * 513}}, headers=headers)
    assert tagged.status_code == 400
    assert tagged.json()["error"]["param"] == "metadata.k"
    # A webhook on a synchronous call
    sync_hook = {"prompt": "x", "webhook_url": "https://example.com/h"}
    assert client.post("/v1/images/generations", json=sync_hook, headers=headers).status_code == (
        400
    )


def test_an_idempotent_async_submission_queues_one_job(client: TestClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "job-1"}
    body = {"prompt": "x", "size": "256x256", "async": True}
    first = client.post("/v1/images/generations", json=body, headers=headers)
    again = client.post("/v1/images/generations", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert len(queued()) == 1
