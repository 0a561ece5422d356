"""Idempotency-Key on priced POSTs: one generation and one charge per key and body."""

import base64
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import accounts_container
from handler.backends.preview import PreviewBackend
from handler.core.deadline import Deadline
from handler.core.errors import BackendError
from handler.core.spec import GenerationSpec
from tests.support import assert_error, balance_of, new_key, usage_of

URL = "/v1/images/generations"
BODY = {"prompt": "a lighthouse", "size": "256x256", "response_format": "b64_json"}
PRICE = 500  # imagegate-preview 256x256


class Gate:
    """Holds the backend inside its first job until released, and counts jobs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.jobs: list[GenerationSpec] = []


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    render = PreviewBackend.generate

    def gated(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        gate.jobs.append(job)
        gate.entered.set()
        assert gate.release.wait(30)
        return render(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", gated)
    yield gate
    gate.release.set()


def test_five_sends_one_generation_one_charge_same_bytes(client: TestClient, gate: Gate) -> None:
    key_id, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "order-42"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Given a first request still running
        first = pool.submit(client.post, URL, headers=headers, json=BODY)
        assert gate.entered.wait(30)
        # When a duplicate arrives meanwhile: 409, retry shortly (the SDK does, by itself)
        duplicate = client.post(URL, headers=headers, json=BODY)
        assert duplicate.status_code == 409
        assert_error(duplicate.json(), type_="conflict", param=None, code="idempotency_in_progress")
        assert (duplicate.headers["x-should-retry"], duplicate.headers["retry-after"]) == (
            "true",
            "1",
        )
        gate.release.set()
        responses = [
            first.result(),
            *pool.map(lambda _: client.post(URL, headers=headers, json=BODY), range(2)),
        ]
    responses.append(client.post(URL, headers=headers, json=BODY))
    # Then every success is the first one: same id, same image bytes; charged once
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    bodies = [r.json() for r in responses]
    assert len({b["id"] for b in bodies}) == 1
    images = {base64.b64decode(b["data"][0]["b64_json"]) for b in bodies}
    assert len(images) == 1
    assert [r.headers.get("idempotent-replayed") for r in responses] == [
        None,
        "true",
        "true",
        "true",
    ]
    assert len(gate.jobs) == 1
    assert balance_of(key_id) == 100_000 - PRICE
    assert len(usage_of(key_id)) == 1


def test_replayed_urls_are_signed_afresh(client: TestClient, gate: Gate) -> None:
    gate.release.set()
    _, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "u1"}
    body = {**BODY, "response_format": "url"}
    first = client.post(URL, headers=headers, json=body).json()
    again = client.post(URL, headers=headers, json=body).json()
    assert first["data"][0]["url"].split("?")[0] == again["data"][0]["url"].split("?")[0]
    assert "X-Amz-Signature=" in again["data"][0]["url"]
    assert len(gate.jobs) == 1


def test_same_key_other_body_is_409_and_costs_nothing(client: TestClient, gate: Gate) -> None:
    gate.release.set()
    key_id, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "k"}
    assert client.post(URL, headers=headers, json=BODY).status_code == 200
    other = client.post(URL, headers=headers, json={**BODY, "prompt": "a harbour"})
    assert other.status_code == 409
    assert other.headers["x-should-retry"] == "false"
    assert_error(other.json(), type_="conflict", param=None, code="idempotency_key_reused")
    assert balance_of(key_id) == 100_000 - PRICE


def test_keys_are_scoped_to_the_api_key(client: TestClient, gate: Gate) -> None:
    gate.release.set()
    first_id, first = new_key(balance=100_000)
    second_id, second = new_key(balance=100_000)
    for auth in (first, second):
        response = client.post(URL, headers={**auth, "Idempotency-Key": "shared"}, json=BODY)
        assert response.status_code == 200
        assert response.headers.get("idempotent-replayed") is None
    assert len(gate.jobs) == 2
    assert balance_of(first_id) == balance_of(second_id) == 100_000 - PRICE


def test_a_failed_first_run_is_not_replayed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "retry-me"}
    render = PreviewBackend.generate
    outcomes = iter([BackendError("GPU lost"), None])

    def flaky(self: PreviewBackend, job: GenerationSpec, deadline: Deadline) -> Any:
        failure = next(outcomes)
        if failure is not None:
            raise failure
        return render(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", flaky)
    assert client.post(URL, headers=headers, json=BODY).status_code == 502
    assert balance_of(key_id) == 100_000  # refunded
    assert client.post(URL, headers=headers, json=BODY).status_code == 200
    assert balance_of(key_id) == 100_000 - PRICE


def test_an_unusable_key_is_a_400(client: TestClient) -> None:
    _, auth = new_key(balance=100_000)
    response = client.post(URL, headers={**auth, "Idempotency-Key": "x" * 256}, json=BODY)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


def test_edits_take_the_file_bytes_into_account(client: TestClient) -> None:
    from tests.image_samples import picture

    key_id, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "edit-1"}
    form = {"prompt": "make it blue", "size": "256x256"}
    first = client.post(
        "/v1/images/edits", headers=headers, data=form, files={"image": ("a.png", picture())}
    )
    assert first.status_code == 200, first.text
    same = client.post(
        "/v1/images/edits", headers=headers, data=form, files={"image": ("a.png", picture())}
    )
    assert same.headers.get("idempotent-replayed") == "true"
    other_file = picture(colour=(0, 0, 255))
    other = client.post(
        "/v1/images/edits", headers=headers, data=form, files={"image": ("a.png", other_file)}
    )
    assert other.status_code == 409
    assert balance_of(key_id) == 100_000 - 1500


def test_a_replay_needs_the_key_itself_still_in_force(client: TestClient, gate: Gate) -> None:
    gate.release.set()
    key_id, auth = new_key(balance=100_000)
    headers = {**auth, "Idempotency-Key": "private"}
    first = client.post(URL, headers=headers, json=BODY)
    assert first.status_code == 200
    # Someone who knows the key id, the Idempotency-Key and the body, but not the secret
    secret = auth["Authorization"].rsplit("_", 1)[1]
    forged = auth["Authorization"].replace(
        secret, secret[:-1] + ("A" if secret[-1] != "A" else "B")
    )
    stranger = client.post(URL, headers={**headers, "Authorization": forged}, json=BODY)
    assert stranger.status_code == 401
    # The holder's replay carries the rate window like any authenticated response
    replay = client.post(URL, headers=headers, json=BODY)
    assert replay.headers["idempotent-replayed"] == "true"
    assert "x-ratelimit-remaining-requests" in replay.headers
    # Once the key is revoked, not even a replay is served
    accounts_container.key_admin().revoke("test", key_id)
    assert client.post(URL, headers=headers, json=BODY).status_code == 401
    assert len(gate.jobs) == 1
