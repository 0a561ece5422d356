"""Async generations on the local stack: 202 and a job, collected by polling and by webhook."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from handler import container
from handler.backends.preview import PreviewBackend
from handler.core.deadline import Deadline
from handler.core.errors import BackendTimeout
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from tests.integration.conftest import Local
from tests.support import balance_of, new_key, open_image

SLOW_SECONDS = 1.5


class Receiver:
    """A webhook endpoint on this machine that keeps what it is sent."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/imagegate"

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def slow_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview backend takes 1.5 s, and honours deadlines as the GPU backends do."""
    generate = PreviewBackend.generate

    def slow(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        if deadline.remaining() < SLOW_SECONDS:
            raise BackendTimeout("The generation did not finish before the deadline.")
        return generate(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", slow)


@pytest.fixture
def short_api_deadline(local: Local, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API answers within one second, as a gateway with a short timeout would make it."""
    monkeypatch.setenv("IMAGEGATE_API_TIMEOUT_MS", "1000")
    monkeypatch.setenv("IMAGEGATE_DEADLINE_MARGIN_MS", "0")
    container.reset()


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Standard Webhooks verification, written from the spec, not from our signer."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


@pytest.mark.usefixtures("slow_backend", "short_api_deadline")
def test_an_async_job_outlives_the_request_deadline_and_is_collected_both_ways(
    local: Local, receiver: Receiver, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a funded key, and a generation too slow for the API's deadline
    key_id, headers = new_key(balance=10_000)
    body = {"prompt": "a lighthouse", "size": "256x256", "n": 2, "seed": 5}
    slow = local.client.post("/v1/images/generations", json=body, headers=headers)
    assert slow.status_code == 504
    assert balance_of(key_id) == 10_000  # the timeout was refunded
    # When the same generation is asked for asynchronously, with a webhook
    queued = local.client.post(
        "/v1/images/generations",
        json={**body, "webhook_url": receiver.url},
        headers={**headers, "Prefer": "respond-async"},
    )
    # Then it is accepted at once
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["status"] == "in_progress"
    assert queued.headers["location"] == f"/v1/images/jobs/{job['id']}"
    local.wait()
    # And polling finds the synchronous call's body, with fresh URLs
    polled = local.client.get(f"/v1/images/jobs/{job['id']}", headers=headers).json()
    assert polled["status"] == "succeeded"
    result = polled["result"]
    assert [item["seed"] for item in result["data"]] == [5, 6]
    assert result["cost"] == 2 * 500
    for item in result["data"]:
        assert open_image(httpx.get(item["url"]).content).size == (256, 256)
    assert balance_of(key_id) == 10_000 - 2 * 500
    # And the webhook came once, signed with the key's own secret, carrying the result
    assert len(receiver.received) == 1
    hook_headers, hook_body = receiver.received[0]
    secret = local.client.get("/v1/webhooks/secret", headers=headers).json()["key"]
    verify(secret, hook_headers, hook_body)
    hook = json.loads(hook_body)
    assert hook["type"] == "job.succeeded"
    assert hook["data"]["id"] == job["id"]
    assert hook["data"]["result"]["data"][0]["seed"] == 5
    # And the event bus took its event (the local stand-in's)
    assert not [line for line in log_lines() if line["message"].startswith("event not")]


def test_an_async_job_in_base64_and_one_that_fails(local: Local) -> None:
    # Given a key that can pay for one image and not for a 1024x1024 one
    key_id, headers = new_key(balance=500)
    # When one job asks for base64 through the body flag
    ok = local.client.post(
        "/v1/images/generations",
        json={"prompt": "x", "size": "256x256", "response_format": "b64_json", "async": True},
        headers=headers,
    )
    assert ok.status_code == 202, ok.text
    local.wait()
    # Then the job answers with the image inline
    done = local.client.get(f"/v1/images/jobs/{ok.json()['id']}", headers=headers).json()
    assert done["status"] == "succeeded"
    assert open_image(base64.b64decode(done["result"]["data"][0]["b64_json"])).size == (256, 256)
    # And a job the key can no longer pay for is refused at once, not queued
    refused = local.client.post(
        "/v1/images/generations",
        json={"prompt": "x", "size": "256x256", "async": True},
        headers=headers,
    )
    assert refused.status_code == 402
    # And another key cannot see the job
    _, other = new_key(balance=0)
    missing = local.client.get(f"/v1/images/jobs/{ok.json()['id']}", headers=other)
    assert missing.status_code == 404
    assert balance_of(key_id) == 0
