"""The admin API in the deployed shape: HTTP → the local API Gateway, which plays ``AWS_IAM``
on ``/admin/...`` as the template declares it → the API function. Requests are signed with
botocore's SigV4, as any AWS SDK or awscurl signs them."""

import json
import time

import httpx
import pytest
from botocore.credentials import Credentials

from handler.cli.gateway.iam import LOCAL_OPERATOR
from tests.integration.conftest import Local
from tests.support import signed, signed_request


def test_an_operator_creates_funds_rotates_and_revokes_a_key(origin: str) -> None:
    admin = f"{origin}/admin/v1"
    # Given an operator's signed request: a key is created, its plaintext shown once
    created = signed("POST", f"{admin}/keys", {"name": "shop", "balance": 5_000_000})
    assert created.status_code == 200, created.text
    key_id, plaintext = created.json()["key"]["id"], created.json()["api_key"]
    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert httpx.get(f"{origin}/v1/usage", headers=bearer).json()["balance"] == 5_000_000
    # When it is topped up, adjusted and its policy changed
    for _ in range(2):  # retried with its Idempotency-Key: credited once
        topped = signed(
            "POST",
            f"{admin}/keys/{key_id}/topups",
            {"amount": 1_000_000, "reason": "inv 9"},
            idempotency_key="invoice-9",
        )
        assert topped.json()["balance"] == 6_000_000
    adjusted = signed(
        "POST", f"{admin}/keys/{key_id}/adjustments", {"amount": -500_000, "reason": "fix"}
    )
    assert adjusted.json()["balance"] == 5_500_000
    updated = signed(
        "PATCH",
        f"{admin}/keys/{key_id}",
        {"requests_per_minute": 5, "models": ["imagegate-preview"]},
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["requests_per_minute"], updated.json()["models"]) == (
        5,
        ["imagegate-preview"],
    )
    # Then the ledger names the operator for the money, the audit for the rest
    ledger = signed("GET", f"{admin}/keys/{key_id}/transactions")
    assert ledger.status_code == 200, ledger.text
    assert [(t["type"], t["actor"]) for t in ledger.json()["data"]] == [
        ("adjustment", LOCAL_OPERATOR),
        ("topup", LOCAL_OPERATOR),
        ("topup", LOCAL_OPERATOR),
    ]
    # When its secret is rotated with a grace period, both secrets work
    rotated = signed("POST", f"{admin}/keys/{key_id}/rotate", {"grace_seconds": 3600})
    new_bearer = {"Authorization": f"Bearer {rotated.json()['api_key']}"}
    assert rotated.json()["key"]["id"] == key_id
    assert httpx.get(f"{origin}/v1/usage", headers=bearer).status_code == 200
    assert httpx.get(f"{origin}/v1/usage", headers=new_bearer).status_code == 200
    # And a revoked key works no more
    assert signed("POST", f"{admin}/keys/{key_id}/revoke").json()["status"] == "revoked"
    assert httpx.get(f"{origin}/v1/usage", headers=new_bearer).status_code == 401
    audit = signed("GET", f"{admin}/keys/{key_id}/audit").json()["data"]
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("revoked", LOCAL_OPERATOR),
        ("rotated", LOCAL_OPERATOR),
        ("updated", LOCAL_OPERATOR),
        ("created", LOCAL_OPERATOR),
    ]
    listed = signed("GET", f"{admin}/keys", None)
    assert key_id in [k["id"] for k in listed.json()["data"]]
    usage = signed("GET", f"{admin}/usage").json()
    assert key_id in [row["key_id"] for row in usage["data"]]


def test_a_rotated_secret_works_only_for_its_grace_period(origin: str) -> None:
    admin = f"{origin}/admin/v1"
    created = signed("POST", f"{admin}/keys", {"name": "rotating", "balance": 1_000_000}).json()
    old = {"Authorization": f"Bearer {created['api_key']}"}
    key_id = created["key"]["id"]
    rotated = signed("POST", f"{admin}/keys/{key_id}/rotate", {"grace_seconds": 0}).json()
    assert httpx.get(f"{origin}/v1/usage", headers=old).status_code == 401
    paid = httpx.post(
        f"{origin}/v1/images/generations",
        headers=old,
        json={"prompt": "a", "size": "256x256"},
        timeout=30,
    )
    assert paid.status_code == 401  # the reservation's own condition refuses it too
    new = {"Authorization": f"Bearer {rotated['api_key']}"}
    assert httpx.get(f"{origin}/v1/usage", headers=new).status_code == 200
    too_long = signed("POST", f"{admin}/keys/{key_id}/rotate", {"grace_seconds": 8 * 86_400})
    assert too_long.status_code == 400


@pytest.mark.parametrize(
    "how",
    ["unsigned", "bearer key", "wrong secret", "other access key", "another service", "stale"],
)
def test_admin_routes_refuse_unsigned_and_wrongly_signed_requests(origin: str, how: str) -> None:
    url = f"{origin}/admin/v1/keys"
    body = {"name": "intruder"}
    if how == "unsigned":
        answer = httpx.post(url, json=body)
    elif how == "bearer key":
        answer = httpx.post(url, json=body, headers={"Authorization": "Bearer ig_x_y"})
    elif how == "wrong secret":
        answer = signed("POST", url, body, credentials=Credentials("testing", "guessed"))
    elif how == "other access key":
        answer = signed("POST", url, body, credentials=Credentials("AKIAOTHER", "testing"))
    elif how == "another service":
        answer = signed("POST", url, body, service="lambda")
    else:
        answer = signed("POST", url, body, at=time.time() - 16 * 60)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["message"]  # the template's gateway response: OpenAI's shape
    listed = signed("GET", url).json()["data"]
    assert "intruder" not in [k["name"] for k in listed]


@pytest.mark.parametrize(
    "how",
    [
        "another region",
        "body changed, its hash signed",
        "body changed",
        "signed 6 minutes ahead",
        "signed 6 minutes ago",
        "date not ISO 8601",
    ],
)
def test_the_gateway_checks_signatures_as_api_gateway_does(origin: str, how: str) -> None:
    # Given a key with 1.00, and a top-up of 0.000001 signed by the operator
    created = signed("POST", f"{origin}/admin/v1/keys", {"name": "signed", "balance": 1_000_000})
    key_id = created.json()["key"]["id"]
    url, body = f"{origin}/admin/v1/keys/{key_id}/topups", {"amount": 1}
    larger = json.dumps({"amount": 5_000_000}).encode()
    # When the request is signed for elsewhere, at another time, or changed on the way
    if how == "another region":
        answer = signed("POST", url, body, region="eu-west-1")
    elif how == "body changed, its hash signed":
        answer = signed("POST", url, body, payload_hash=True, sent=larger)
    elif how == "body changed":
        answer = signed("POST", url, body, sent=larger)
    elif how == "signed 6 minutes ahead":
        answer = signed("POST", url, body, at=time.time() + 6 * 60)
    elif how == "signed 6 minutes ago":
        answer = signed("POST", url, body, at=time.time() - 6 * 60)
    else:
        to, headers, data = signed_request("POST", url, body)
        headers["X-Amz-Date"] = headers["X-Amz-Date"].replace("T", "")  # 20261205041500Z
        answer = httpx.post(to, headers=headers, content=data)
    # Then API Gateway's 403, and the balance did not move
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["message"]
    assert signed("GET", f"{origin}/admin/v1/keys/{key_id}").json()["balance"] == 1_000_000
    # While the same request, signed as it is sent, passes (its hash signed or not)
    for payload_hash in (False, True):
        assert signed("POST", url, body, payload_hash=payload_hash).status_code == 200


def test_the_app_refuses_admin_calls_that_did_not_come_through_iam(local: Local) -> None:
    from fastapi.testclient import TestClient

    from handler.admin_app import create_admin_app

    with TestClient(create_admin_app()) as client:
        answer = client.get("/admin/v1/keys")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "iam_authorization_required"


def test_bad_admin_bodies_get_openai_errors(origin: str) -> None:
    admin = f"{origin}/admin/v1"
    for body in (
        {"name": ""},
        {"name": "x", "models": ["no-such-model"]},
        {"name": "x", "extra": 1},
    ):
        answer = signed("POST", f"{admin}/keys", body)
        assert answer.status_code == 400, body
        assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    missing = signed("GET", f"{admin}/keys/0000000000000000")
    assert missing.status_code == 404
    no_reason = signed("POST", f"{admin}/keys/0000000000000000/adjustments", {"amount": 5})
    assert no_reason.status_code == 400
