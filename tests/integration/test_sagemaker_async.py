"""Asynchronous SageMaker inference on the local stack: bodies and results through the local
S3, the endpoint faked at the sagemaker-runtime client (it cannot run here)."""

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from handler import container
from handler.backends import sagemaker
from handler.stores.clients import s3_client
from handler.stores.staging import ASYNC_PREFIX
from tests.integration.conftest import Local
from tests.support import ROOT, balance_of, new_key, open_image, usage_of

PRICE = 2500  # sd-async at 512x512, as sd-imagegate


class AsyncEndpoint:
    """An asynchronous SageMaker endpoint: it reads each queued body from S3 and, once
    released, writes the images there as our model server would."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.calls: list[dict[str, Any]] = []
        self.released = threading.Event()
        self._lock = threading.Lock()

    def invoke_endpoint_async(self, **call: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(call)
        name = uuid.uuid4().hex
        output = f"s3://{self.bucket}/{ASYNC_PREFIX}output/{name}.out"
        threading.Thread(target=self._run, args=(call, output), daemon=True).start()
        return {
            "InferenceId": call["InferenceId"],
            "OutputLocation": output,
            "FailureLocation": f"s3://{self.bucket}/{ASYNC_PREFIX}failure/{name}-error.out",
        }

    def _run(self, call: dict[str, Any], output: str) -> None:
        self.released.wait(timeout=120)
        request = json.loads(_get(call["InputLocation"]))
        images = []
        for seed in request["seeds"]:
            buffer = io.BytesIO()
            Image.new("RGB", (request["width"], request["height"]), (seed, 90, 30)).save(
                buffer, format="PNG"
            )
            images.append({"b64": base64.b64encode(buffer.getvalue()).decode(), "seed": seed})
        bucket, key = _split(output)
        s3_client().put_object(Bucket=bucket, Key=key, Body=json.dumps({"images": images}))


def _split(location: str) -> tuple[str, str]:
    parts = urlsplit(location)
    return parts.netloc, parts.path.lstrip("/")


def _get(location: str) -> bytes:
    bucket, key = _split(location)
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


def _staged(bucket: str) -> list[str]:
    listed = s3_client().list_objects_v2(Bucket=bucket, Prefix=ASYNC_PREFIX)
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def endpoint(
    local: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AsyncEndpoint]:
    """The catalog gains ``sd-async``: our model server deployed for asynchronous inference."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    entry = next(model for model in catalog["models"] if model["id"] == "sd-imagegate")
    params = {
        "endpoint_name": "imagegate-diffusers-async",
        "contract": "imagegate",
        "images_per_call": 4,
        "invocation": "async",
        "max_seconds": 1800,
    }
    catalog["models"].append({**entry, "id": "sd-async", "backend_params": params})
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(tmp_path / "catalog.json"))
    fake = AsyncEndpoint(local.bucket)
    monkeypatch.setattr(sagemaker, "_runtime_client", cache(lambda timeout: fake))
    container.reset()
    yield fake
    fake.released.set()


def _until(condition: Any, what: str) -> None:
    give_up = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < give_up, f"still waiting for {what}"
        time.sleep(0.1)


def test_a_job_longer_than_a_worker_attempt_is_collected_by_the_retry(
    local: Local, endpoint: AsyncEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given workers that give each attempt about three seconds (WorkerFunction's 300 s timeout
    # less the margin) and an endpoint that takes longer than that
    monkeypatch.setenv("IMAGEGATE_WORKER_MARGIN_MS", "297000")
    container.reset()
    key_id, headers = new_key(balance=100_000)
    # When an async job asks the asynchronous endpoint for two images
    body = {"model": "sd-async", "prompt": "a fox", "size": "512x512", "n": 2, "seed": 5}
    queued = local.client.post(
        "/v1/images/generations", json=body, headers={**headers, "Prefer": "respond-async"}
    )
    assert queued.status_code == 202, queued.text
    # Then the first attempt queues the work through S3, waits out its time and is refunded
    _until(
        lambda: any(record.error_code == "backend_timeout" for record in usage_of(key_id)),
        "the first attempt's timeout",
    )
    [call] = endpoint.calls
    assert call["InputLocation"].startswith(f"s3://{local.bucket}/{ASYNC_PREFIX}input/")
    assert json.loads(_get(call["InputLocation"]))["seeds"] == [5, 6]
    assert balance_of(key_id) == 100_000
    # And when the endpoint finishes, the queue's retry collects the same invocation
    endpoint.released.set()
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    assert len(endpoint.calls) == 1  # one GPU run, not one per attempt
    data = job["result"]["data"]
    assert [item["seed"] for item in data] == [5, 6]
    for item in data:
        assert open_image(httpx.get(item["url"]).content).size == (512, 512)
    # charged once, for the two images; and nothing is left in the staging prefix
    assert balance_of(key_id) == 100_000 - 2 * PRICE
    assert sorted(record.status for record in usage_of(key_id)) == ["failed", "succeeded"]
    assert _staged(local.bucket) == []


def test_a_synchronous_request_waits_for_the_asynchronous_endpoint(
    local: Local, endpoint: AsyncEndpoint
) -> None:
    # Given an asynchronous endpoint that answers at once
    endpoint.released.set()
    key_id, headers = new_key(balance=100_000)
    # When a plain generation asks it for an image
    response = local.client.post(
        "/v1/images/generations",
        json={"model": "sd-async", "prompt": "a fox", "size": "512x512", "seed": 9},
        headers=headers,
    )
    # Then the API waited for its S3 output and answered as usual
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    assert item["seed"] == 9
    assert open_image(httpx.get(item["url"]).content).size == (512, 512)
    assert balance_of(key_id) == 100_000 - PRICE
    assert _staged(local.bucket) == []
