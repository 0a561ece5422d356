"""Queued work on the local stack says why it failed, edits queue like generations, and a key
that cannot pay is refused before anything is queued."""

import json
from typing import Any

import httpx
import pytest

from handler.aws.clients import dynamodb_client, s3_client
from handler.backends.preview import PreviewBackend
from handler.config import get_settings
from handler.core.errors import BackendError
from handler.core.spec import GenerationSpec
from tests.image_samples import noise, picture, top_half_mask
from tests.integration.conftest import Local
from tests.support import balance_of, new_key, open_image

URL = "/v1/images/generations"


def test_a_job_whose_backend_is_not_configured_fails_at_once_saying_so(local: Local) -> None:
    # Given a stack with no Replicate token, and a job for a Replicate model
    key_id, headers = new_key(balance=10**6)
    queued = local.client.post(
        URL,
        headers={**headers, "Prefer": "respond-async"},
        json={"prompt": "a fox", "model": "flux-schnell", "size": "512x512"},
    )
    assert queued.status_code == 202, queued.text
    # When the worker runs it
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    # Then it failed as the synchronous call would answer, on its first attempt, unpaid
    assert job["status"] == "failed"
    assert job["status_code"] == 503
    assert job["error"]["code"] == "backend_not_configured"
    assert "Replicate" in job["error"]["message"]
    assert balance_of(key_id) == 10**6


def test_an_edit_with_files_can_be_queued(local: Local) -> None:
    red = (200, 30, 30)
    _, headers = new_key(balance=10**6)
    queued = local.client.post(
        "/v1/images/edits",
        headers=headers,
        files=[
            ("image", ("red.png", picture((256, 256), colour=red), "image/png")),
            ("mask", ("mask.png", top_half_mask(256, "alpha"), "image/png")),
        ],
        # "async" as a form field, as the README says; Prefer: respond-async works as well
        data={
            "prompt": "a blue sky",
            "size": "256x256",
            "strength": "1",
            "seed": "3",
            "async": "true",
        },
    )
    assert queued.status_code == 202, queued.text
    assert queued.headers["location"].endswith(queued.json()["id"])
    assert "x-ratelimit-remaining-requests" in queued.headers
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    image = open_image(httpx.get(job["result"]["data"][0]["url"]).content).convert("RGB")
    assert image.getpixel((128, 60)) != red  # the mask travelled with the job
    assert image.getpixel((128, 180)) == red


def test_an_edit_too_large_for_the_queue_is_a_413(local: Local) -> None:
    _, headers = new_key(balance=10**6)
    response = local.client.post(
        "/v1/images/edits",
        headers={**headers, "Prefer": "respond-async"},
        files=[("image", ("big.png", noise((400, 400)), "image/png"))],
        data={"prompt": "x", "size": "512x512"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_file_dropped_for_a_key_that_cannot_pay_starts_no_batch(local: Local) -> None:
    # Given a key whose balance is under the cheapest line
    broke, _ = new_key(balance=50)
    line = {"custom_id": "a", "body": {"prompt": "a fox", "size": "256x256"}}
    # When a file is dropped in its input prefix
    s3_client().put_object(
        Bucket=local.bucket,
        Key=f"batches/input/{broke}/products.jsonl",
        Body=(json.dumps(line) + "\n").encode(),
    )
    local.wait()
    # Then no batch was made, and nothing ran
    assert dynamodb_client().scan(TableName=get_settings().work_table)["Count"] == 0
    assert balance_of(broke) == 50


# Each of its five attempts fails at once: the next need not wait 5 s.
@pytest.mark.visibility_timeout(2)
def test_a_job_that_fails_every_attempt_says_with_what(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backend that fails, as a model out of memory would, on every attempt
    def out_of_memory(self: PreviewBackend, job: GenerationSpec, deadline: Any) -> Any:
        raise BackendError("The model failed: CUDA out of memory")

    monkeypatch.setattr(PreviewBackend, "generate", out_of_memory)
    key_id, headers = new_key(balance=10**6)
    queued = local.client.post(
        URL, headers={**headers, "Prefer": "respond-async"}, json={"prompt": "x", "size": "256x256"}
    )
    # When the queue has tried it its three times and dead-lettered it
    local.wait()
    job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=headers).json()
    # Then it failed with the error the synchronous call would have answered, unpaid
    assert job["status"] == "failed"
    assert (job["status_code"], job["error"]["code"]) == (502, "backend_error")
    assert "Every attempt failed" in job["error"]["message"]
    assert "CUDA out of memory" in job["error"]["message"]
    assert balance_of(key_id) == 10**6
