"""Asynchronous SageMaker inference on the local stack: bodies and results through the local
S3, the endpoint faked at the sagemaker-runtime client (it cannot run here)."""

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from handler import container
from handler.aws.clients import s3_client
from handler.backends.sagemaker import client as sagemaker_client
from handler.stores.staging import ASYNC_PREFIX
from tests.integration.conftest import Local
from tests.support import ROOT, balance_of, endpoint_in_service, new_key, open_image, usage_of

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


@pytest.fixture
def endpoint(
    local: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AsyncEndpoint]:
    """The catalog gains ``sd-async``: our model server deployed for asynchronous inference,
    and ``sd-async-only``, the same served only asynchronously."""
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
    catalog["models"].append(
        {**entry, "id": "sd-async-only", "backend_params": params, "synchronous": False}
    )
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(tmp_path / "catalog.json"))
    fake = AsyncEndpoint(local.bucket)
    monkeypatch.setattr(sagemaker_client, "invocation_client", lambda *_: fake)
    container.reset()
    endpoint_in_service("imagegate-diffusers-async")
    yield fake
    fake.released.set()


def _until(condition: Any, what: str) -> None:
    give_up = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < give_up, f"still waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def short_looks(endpoint: AsyncEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers give each attempt about three seconds (WorkerFunction's 300 s timeout less the
    margin) and look at pending work again a second later."""
    monkeypatch.setenv("IMAGEGATE_WORKER_MARGIN_MS", "297000")
    monkeypatch.setenv("IMAGEGATE_PENDING_CHECK_SECONDS", "1")
    container.reset()


@pytest.mark.usefixtures("short_looks")
def test_a_job_longer_than_a_worker_attempt_is_pending_until_collected(
    local: Local, endpoint: AsyncEndpoint, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given an endpoint slower than a worker's attempt
    key_id, headers = new_key(balance=100_000)
    # When an async job asks the asynchronous endpoint for two images
    body = {"model": "sd-async-only", "prompt": "a fox", "size": "512x512", "n": 2, "seed": 5}
    refused = local.client.post("/v1/images/generations", json=body, headers=headers)
    assert refused.status_code == 400  # not as a synchronous request: it would outlast it
    assert refused.json()["error"]["param"] == "model"
    assert refused.json()["error"]["code"] == "model_requires_async"
    assert (endpoint.calls, balance_of(key_id)) == ([], 100_000)
    queued = local.client.post(
        "/v1/images/generations", json=body, headers={**headers, "Prefer": "respond-async"}
    )
    assert queued.status_code == 202, queued.text
    # Then its body goes to the endpoint through S3, and the job is pending, looked at again
    # and again, its price held
    _until(
        lambda: sum(line["message"] == "line pending" for line in log_lines()) >= 2,
        "the job to be looked at again",
    )
    [call] = endpoint.calls
    assert call["InputLocation"].startswith(f"s3://{local.bucket}/{ASYNC_PREFIX}input/")
    assert json.loads(_get(call["InputLocation"]))["seeds"] == [5, 6]
    assert balance_of(key_id) == 100_000 - 2 * PRICE
    running = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers)
    assert running.json()["status"] == "in_progress"
    # And when the endpoint finishes, the next look collects it
    endpoint.released.set()
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    assert len(endpoint.calls) == 1  # one GPU run, however many looks
    data = job["result"]["data"]
    assert [item["seed"] for item in data] == [5, 6]
    for item in data:
        assert open_image(httpx.get(item["url"]).content).size == (512, 512)
    # charged once, for the two images, in one usage record
    assert balance_of(key_id) == 100_000 - 2 * PRICE
    assert [(record.status, record.charged) for record in usage_of(key_id)] == [
        ("succeeded", 2 * PRICE)
    ]


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


@pytest.mark.usefixtures("short_looks")
def test_cancelling_a_batch_refunds_the_price_its_pending_line_holds(
    local: Local, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a one-line batch whose work is pending on the asynchronous endpoint
    key_id, headers = new_key(balance=100_000)
    line = {"custom_id": "slow", "body": {"model": "sd-async-only", "prompt": "a fox"}}
    created = local.client.post("/v1/batches", json={"input": [line]}, headers=headers)
    assert created.status_code == 200, created.text
    batch_id = created.json()["id"]
    _until(lambda: any(x["message"] == "line pending" for x in log_lines()), "a pending line")
    assert balance_of(key_id) == 100_000 - 2813  # 768x768 held while it runs
    # When the batch is cancelled
    cancel = local.client.post(f"/v1/batches/{batch_id}/cancel", headers=headers)
    assert cancel.json()["status"] == "cancelling"
    local.wait()
    # Then the line's next look ends it unpaid, and the held price is back
    done = local.client.get(f"/v1/batches/{batch_id}", headers=headers).json()
    assert (done["status"], done["cost"]) == ("cancelled", 0)
    assert balance_of(key_id) == 100_000
    assert [(record.charged, record.error_code) for record in usage_of(key_id)] == [
        (0, "batch_cancelled")
    ]
