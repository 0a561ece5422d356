"""GET /v1/usage/requests: a key's own priced requests, newest first, a page at a time."""

import httpx
from fastapi.testclient import TestClient

from handler.cli.template import Template
from tests.integration.conftest import Local
from tests.integration.test_gateway import served
from tests.support import ROOT, assert_error, new_key

URL = "/v1/images/generations"
REQUESTS = "/v1/usage/requests"


def test_a_key_pages_its_requests_newest_first(client: TestClient) -> None:
    _, auth = new_key(balance=10**9)
    request_ids = []
    for n in (1, 2, 3):
        answer = client.post(URL, headers=auth, json={"prompt": "a", "n": n, "size": "256x256"})
        assert answer.status_code == 200, answer.text
        request_ids.append(answer.headers["x-request-id"])
    # When it pages two at a time
    first = client.get(REQUESTS, headers=auth, params={"limit": 2}).json()
    assert [r["n"] for r in first["data"]] == [3, 2]
    assert first["has_more"]
    assert first["last_id"] == first["data"][-1]["id"]
    rest = client.get(REQUESTS, headers=auth, params={"after": first["last_id"]}).json()
    # Then every request is there once, with what it cost and delivered
    assert [r["n"] for r in rest["data"]] == [1]
    assert not rest["has_more"]
    rows = first["data"] + rest["data"]
    assert [r["request_id"] for r in rows] == request_ids[::-1]
    assert all(r["status"] == "succeeded" and r["images"] == r["n"] for r in rows)
    assert {r["model"] for r in rows} == {"imagegate-preview"}
    assert sum(r["cost"] for r in rows) > 0


def test_a_key_never_sees_another_keys_requests(client: TestClient) -> None:
    _, mine = new_key(balance=10**9)
    _, theirs = new_key(balance=10**9)
    assert (
        client.post(URL, headers=theirs, json={"prompt": "a", "size": "256x256"}).status_code == 200
    )
    assert client.get(REQUESTS, headers=mine).json()["data"] == []
    [their_row] = client.get(REQUESTS, headers=theirs).json()["data"]
    # Another key's id is no place in the caller's list: a 400, as the README says
    paged = client.get(REQUESTS, headers=mine, params={"after": their_row["id"]})
    assert paged.status_code == 400
    assert_error(paged.json(), type_="invalid_request_error", param="after", code="invalid_value")


def test_bad_pages_are_400_and_no_key_is_401(client: TestClient) -> None:
    _, auth = new_key(balance=0)
    bad = client.get(REQUESTS, headers=auth, params={"after": "nope"})
    assert bad.status_code == 400
    assert_error(bad.json(), type_="invalid_request_error", param="after", code="invalid_value")
    assert client.get(REQUESTS, headers=auth, params={"limit": 0}).status_code == 400
    assert client.get(REQUESTS).status_code == 401


def test_the_list_through_the_local_api_gateway(local: Local) -> None:
    _, auth = new_key(balance=10**9)
    with served(Template.load(ROOT / "template.yaml")) as base_url:
        made = httpx.post(f"{base_url}/images/generations", headers=auth, json={"prompt": "a"})
        assert made.status_code == 200, made.text
        listed = httpx.get(f"{base_url}/usage/requests", headers=auth, params={"limit": 5})
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row["request_id"] == made.headers["x-request-id"]


def test_the_end_user_a_request_names_is_kept_with_its_record(client: TestClient) -> None:
    # Given requests naming their end user as OpenAI's SDKs do, by either name
    _, auth = new_key(balance=10**9)
    bodies = [
        {"prompt": "a", "user": "user-17"},
        {"prompt": "a", "safety_identifier": "hashed-42"},
        {"prompt": "a", "user": "user-17", "safety_identifier": "hashed-42"},
        {"prompt": "a"},
    ]
    for body in bodies:
        assert client.post(URL, headers=auth, json=body).status_code == 200
    # Then each record names the one it gave (the newer name where both are), and none else
    rows = client.get(REQUESTS, headers=auth).json()["data"]
    assert [row["user"] for row in rows] == [None, "hashed-42", "hashed-42", "user-17"]
