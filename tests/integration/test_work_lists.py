"""GET /v1/batches and GET /v1/images/jobs: a key's own, newest first, a page at a time; and
POST /v1/images/jobs/{id}/cancel, for a job the worker has not started.

Nothing runs the queues here: a job stays queued until a test runs the worker on it."""

from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from handler import container, generation_container
from handler.backends.preview import PreviewBackend
from handler.cli.template import Template
from handler.core.deadline import Deadline
from handler.core.records.work import WorkItem
from tests.integration.conftest import Local
from tests.integration.test_gateway import served
from tests.support import ROOT, assert_error, balance_of, new_key, usage_of

GENERATE = "/v1/images/generations"
LINE = {"custom_id": "a", "body": {"prompt": "a", "size": "256x256"}}


def _batch(client: TestClient, auth: dict[str, str], name: str) -> dict[str, Any]:
    made = client.post("/v1/batches", headers=auth, json={"input": [LINE], "metadata": {"n": name}})
    assert made.status_code == 200, made.text
    batch: dict[str, Any] = made.json()
    return batch


def _job(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    queued = client.post(
        GENERATE, headers=auth, json={"prompt": "a", "size": "256x256", "async": True, **body}
    )
    assert queued.status_code == 202, queued.text
    job: dict[str, Any] = queued.json()
    return job


def _run(job_id: str, **body: Any) -> None:
    """The worker, on the job's message."""
    work = {"prompt": "a", "size": "256x256", **body}
    generation_container.worker().run(WorkItem(job_id, 0, None, work), Deadline.after(60))


def test_a_key_pages_its_batches_newest_first(client: TestClient) -> None:
    _, auth = new_key(balance=10**9)
    made = [_batch(client, auth, name)["id"] for name in ("one", "two", "three")]
    # When it pages two at a time, going on from each page's last id
    first = client.get("/v1/batches", headers=auth, params={"limit": 2}).json()
    rest = client.get("/v1/batches", headers=auth, params={"after": first["last_id"]}).json()
    # Then every batch is there once, newest first, as GET /v1/batches/{id} shows it
    assert first["object"] == "list"
    assert first["has_more"]
    assert not rest["has_more"]
    rows = first["data"] + rest["data"]
    assert [row["id"] for row in rows] == made[::-1]  # to the millisecond, not the second
    assert (first["first_id"], first["last_id"]) == (rows[0]["id"], rows[1]["id"])
    one = client.get(f"/v1/batches/{rows[2]['id']}", headers=auth).json()
    assert rows[2] == one


def test_a_page_at_a_time_repeats_and_skips_no_batch(client: TestClient) -> None:
    # however close together they were made (ids break a tie in the same millisecond)
    _, auth = new_key(balance=10**9)
    made = {_batch(client, auth, str(n))["id"] for n in range(5)}
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 1} | ({"after": after} if after else {})
        page = client.get("/v1/batches", headers=auth, params=params).json()
        seen += [row["id"] for row in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5


def test_a_key_never_sees_another_keys_batches_or_jobs(client: TestClient) -> None:
    _, mine = new_key(balance=10**9)
    _, theirs = new_key(balance=10**9)
    their_batch = _batch(client, theirs, "theirs")
    their_job = _job(client, theirs)
    assert client.get("/v1/batches", headers=mine).json()["data"] == []
    assert client.get("/v1/images/jobs", headers=mine).json()["data"] == []
    # Nor goes on from one of them, nor from a batch where a job is listed
    for route, after in (
        ("/v1/batches", their_batch["id"]),
        ("/v1/images/jobs", their_job["id"]),
        ("/v1/images/jobs", _batch(client, mine, "mine")["id"]),
        ("/v1/batches", "batch_missing"),
        ("/v1/batches", ""),
        ("/v1/images/jobs", "imgjob_" + "0" * 3000),  # past what DynamoDB takes as a key
    ):
        refused = client.get(route, headers=mine, params={"after": after})
        assert refused.status_code == 400, (route, after)
        assert_error(
            refused.json(), type_="invalid_request_error", param="after", code="invalid_value"
        )
    assert client.get("/v1/batches", headers=mine, params={"limit": 101}).status_code == 400
    assert client.get(f"/v1/batches/batch_{'0' * 3000}", headers=mine).status_code == 404
    assert client.get("/v1/images/jobs").status_code == 401


def test_jobs_list_with_their_results_by_url(client: TestClient) -> None:
    _, auth = new_key(balance=10**9)
    done = _job(client, auth, response_format="b64_json", seed=7)
    queued = _job(client, auth)
    _run(done["id"], response_format="b64_json", seed=7)
    page = client.get("/v1/images/jobs", headers=auth).json()
    assert [row["id"] for row in page["data"]] == [queued["id"], done["id"]]
    rows = {row["id"]: row for row in page["data"]}
    assert rows[queued["id"]]["status"] == "in_progress"
    assert rows[queued["id"]]["result"] is None
    finished = rows[done["id"]]
    assert finished["status"] == "succeeded"
    assert finished["cost"] > 0
    # base64 asked for, a URL listed: the job itself still answers in its own format
    [image] = finished["result"]["data"]
    assert image["url"].startswith("http")
    assert image.get("b64_json") is None
    own = client.get(f"/v1/images/jobs/{done['id']}", headers=auth).json()
    assert own["result"]["data"][0]["b64_json"]


def test_an_unstarted_job_cancels_at_once_and_never_runs(client: TestClient) -> None:
    key_id, auth = new_key(balance=10**9)
    job = _job(client, auth)
    # When it is cancelled before the worker takes it
    cancelled = client.post(f"/v1/images/jobs/{job['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "cancelled"
    assert view["cost"] == 0
    assert view["cancelled_at"] is not None
    assert view["completed_at"] is not None
    # Then cancelling again answers the same, and the worker, when the message comes, runs
    # nothing and charges nothing
    again = client.post(f"/v1/images/jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"
    _run(job["id"])
    assert client.get(f"/v1/images/jobs/{job['id']}", headers=auth).json() == view
    assert balance_of(key_id) == 10**9
    assert usage_of(key_id) == []


def test_a_started_or_finished_job_is_not_cancellable(client: TestClient) -> None:
    _, auth = new_key(balance=10**9)
    running = _job(client, auth)
    # The worker has taken it (marked it started) and is running it
    store = container.work_store()
    store.transition(
        running["id"], from_=["in_progress"], to="in_progress", changes={"started_at": 1}
    )
    started = client.post(f"/v1/images/jobs/{running['id']}/cancel", headers=auth)
    assert started.status_code == 409
    assert "has started" in started.json()["error"]["message"]
    job = _job(client, auth)
    _run(job["id"])
    refused = client.post(f"/v1/images/jobs/{job['id']}/cancel", headers=auth)
    assert refused.status_code == 409
    assert_error(refused.json(), type_="conflict", param=None, code="job_not_cancellable")
    assert client.get(f"/v1/images/jobs/{job['id']}", headers=auth).json()["status"] == (
        "succeeded"
    )
    # Nor is another key's job, nor a batch, cancellable as a job
    _, other = new_key(balance=10**9)
    assert client.post(f"/v1/images/jobs/{job['id']}/cancel", headers=other).status_code == 404
    batch = _batch(client, auth, "b")
    assert client.post(f"/v1/images/jobs/{batch['id']}/cancel", headers=auth).status_code == 404


def test_a_cancel_between_the_workers_read_and_its_start_wins(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker has read the job (not cancelled) when the cancel lands: it must not run it
    key_id, auth = new_key(balance=10**9)
    job = _job(client, auth)
    worker = generation_container.worker()
    starts = type(worker)._starts

    def cancelled_first(self: Any, batch: Any) -> bool:
        assert client.post(f"/v1/images/jobs/{batch.id}/cancel", headers=auth).status_code == 200
        return starts(self, batch)

    monkeypatch.setattr(type(worker), "_starts", cancelled_first)
    ran: list[str] = []
    monkeypatch.setattr(PreviewBackend, "generate", lambda *args: ran.append("generated"))
    _run(job["id"])
    assert ran == []  # the backend was never asked
    view = client.get(f"/v1/images/jobs/{job['id']}", headers=auth).json()
    assert (view["status"], view["cost"], view["result"]) == ("cancelled", 0, None)
    assert balance_of(key_id) == 10**9


def test_the_openai_sdk_pages_batches_through_the_local_api_gateway(local: Local) -> None:
    _, auth = new_key(balance=10**9)
    with served(Template.load(ROOT / "template.yaml")) as base_url:
        for _name in ("one", "two", "three"):
            made = httpx.post(f"{base_url}/batches", headers=auth, json={"input": [LINE]})
            assert made.status_code == 200, made.text
        sdk = openai.OpenAI(base_url=base_url, api_key=auth["Authorization"].split()[1])
        # auto-pagination passes each page's last id back as `after`
        listed = [batch.id for batch in sdk.batches.list(limit=2)]
        jobs = httpx.get(f"{base_url}/images/jobs", headers=auth)
    assert len(listed) == len(set(listed)) == 3
    assert jobs.status_code == 200
    assert jobs.json()["data"] == []
