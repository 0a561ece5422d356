"""Helpers shared by the test layers."""

import datetime
import hashlib
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from PIL import Image

from handler import container
from handler.cli.stripe_stand_in import StripeStandIn
from handler.core.catalog import CatalogModel
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import KeyPolicy
from handler.core.records.ledger import LedgerEntry
from handler.keys.auth import issue_key

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
# The key the sample events in events/ carry (see events/README.md).
SAMPLE_EVENT_KEY = "ig_5a3b1e0000000001_sample0000000000000000000000000000000000000"
FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
# Test keys: limits and a balance no ordinary test reaches (billing tests make their own).
GENEROUS = KeyPolicy(requests_per_minute=10_000, images_per_minute=100_000)
FUNDED = 1_000 * 1_000_000
STACK_CREDENTIALS = Credentials("testing", "testing")  # the local stack's (cli/local.py)


def catalog_kept_running(folder: Path) -> Path:
    """The default catalog as an operator who still runs its retired models keeps it (under
    Bedrock's extended access, say): no shutdown dates, so the adapters of models past their
    date in the default catalog stay tested. Written to ``folder``; its path."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    for model in catalog["models"]:
        model.pop("shutdown_date", None)
        model.pop("successor", None)
    path = folder / "catalog-kept-running.json"
    path.write_text(json.dumps(catalog))
    return path


def with_placement(
    model: CatalogModel, backend_params: dict[str, Any], **fields: Any
) -> CatalogModel:
    """``model``, changed by ``fields``, on its one placement with other ``backend_params``."""
    placement = model.placements[0].model_dump() | {"backend_params": backend_params}
    return CatalogModel.model_validate(model.model_dump() | fields | {"placements": [placement]})


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    """What an image shows: the same picture in two files whose C2PA manifests differ (each
    names its own request and time) gives the same pixels."""
    image = open_image(data)
    return image.format or "", image.size, image.convert("RGBA").tobytes()


def assert_error(body: Any, *, type_: str, param: str | None, code: str | None) -> None:
    """OpenAI's envelope: all four keys, nothing FastAPI-shaped."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["message"]
    assert (error["type"], error["param"], error["code"]) == (type_, param, code), error


def recompute_presigned_signature(url: str, access_key: str, secret_key: str) -> str:
    """Sign the URL's request again with botocore, from its own X-Amz-* parameters."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.pop("X-Amz-Signature")
    _, _, region, service, _ = query["X-Amz-Credential"].split("/")
    auth = S3SigV4QueryAuth(
        Credentials(access_key, secret_key), service, region, expires=int(query["X-Amz-Expires"])
    )
    request = AWSRequest(method="GET", url=urlunsplit(parts._replace(query=urlencode(query))))
    request.context["timestamp"] = query["X-Amz-Date"]
    canonical = auth.canonical_request(request)
    signature: str = auth.signature(auth.string_to_sign(request, canonical), request)
    return signature


def presigned_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def within_one_minute(seconds: float = 10) -> None:
    """Start where at least ``seconds`` of the calendar minute are left: a test of one rate
    window then runs inside it, however the clock stood when it began (waits < ``seconds``)."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.01)


def new_key(*, balance: int, rpm: int = 1000, ipm: int = 1000) -> tuple[str, dict[str, str]]:
    """A key in the current stores, and the headers that present it."""
    policy = KeyPolicy(requests_per_minute=rpm, images_per_minute=ipm)
    new = issue_key(
        container.key_store(), "test", policy, balance=balance, now=0, actor="test", source="cli"
    )
    return new.key_id, {"Authorization": f"Bearer {new.plaintext}"}


def top_up(key_id: str, amount: int) -> None:
    """Fund a key as an operator does, with its ledger entry."""
    at, reference = int(time.time() * 1000), f"test_{time.time_ns()}"
    container.entries().post(LedgerEntry(key_id, "topup", amount, at, reference, "test"))


def balance_of(key_id: str) -> int:
    record = container.key_store().get(key_id)
    assert record is not None
    return record.funds.balance


def usage_of(key_id: str) -> list[UsageRecord]:
    """Every usage record of the key (sort keys are 13-digit milliseconds)."""
    return container.charge_store().usage(key_id, start_ms=0, end_ms=9_999_999_999_999)


@dataclass
class FakeLambdaContext:
    function_name: str = "imagegate-ApiFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:imagegate-api"
    aws_request_id: str = "5b1e7c2a-0000-4000-8000-000000000001"

    remaining_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def policy_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements; one under ``!If [condition, statement, AWS::NoValue]``
    as it stands when the condition holds, the condition's name kept under ``"If"``."""
    found = []
    for statement in document.get("Statement", []):
        if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
            condition, statement, _ = statement["Fn::If"]
            statement = {**statement, "If": condition}
        found.append(statement)
    return found


def function_statements(resources: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """A function's IAM statements: its SAM ``Policies``, or its own role's."""
    properties = resources[function]["Properties"]
    role_id = properties.get("Role", {}).get("Fn::GetAtt", [None])[0]
    if role_id is not None and role_id not in resources and role_id.endswith("Role"):
        # The role SAM makes for another function (from its Policies), shared.
        return function_statements(resources, role_id.removesuffix("Role"))
    if "Role" in properties:
        role = resources[properties["Role"]["Fn::GetAtt"][0]]["Properties"]
        documents = [policy["PolicyDocument"] for policy in role["Policies"]]
    else:
        documents = [
            policy for policy in properties.get("Policies", []) if isinstance(policy, dict)
        ]
    return [statement for document in documents for statement in policy_statements(document)]


def presigned_object(url: str) -> tuple[str, str]:
    """The bucket and key a presigned S3 URL (virtual-hosted style) points at."""
    path = url.split("?")[0].split(".amazonaws.com/")[-1]
    bucket_host = url.split("//")[1].split(".")[0]
    return bucket_host, path


def signed(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    sent: bytes | None = None,
    **signing: Any,
) -> httpx.Response:
    """A call signed as any AWS SDK signs it (botocore's SigV4Auth; ``signing``: as
    ``signed_request`` takes it), with ``sent`` another body than the one signed (changed on
    the way)."""
    headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}
    to, signed_headers, data = signed_request(method, url, body, headers=headers, **signing)
    content = data if sent is None else sent
    signed_headers.pop("Content-Length", None)  # the body's, as sent
    return httpx.request(method, to, headers=signed_headers, content=content, timeout=30)


def signed_request(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    credentials: Credentials = STACK_CREDENTIALS,
    service: str = "execute-api",
    region: str = "us-east-1",
    at: float | None = None,
    payload_hash: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """A request signed and not sent: its URL, headers and body. ``at``: signed at another
    time than now; ``payload_hash``: with the body's hash signed in ``x-amz-content-sha256``
    (as S3's clients do)."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json", **(headers or {})}
    if payload_hash:
        headers["x-amz-content-sha256"] = hashlib.sha256(data).hexdigest()
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    signer = SigV4Auth(credentials, service, region)
    if at is None:
        signer.add_auth(request)
    else:
        then = datetime.datetime.fromtimestamp(at, datetime.UTC)
        with mock.patch("botocore.auth.get_current_datetime", return_value=then):
            signer.add_auth(request)
    prepared = request.prepare()
    return prepared.url, dict(prepared.headers), data


STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET = "sk_test_local", "whsec_local"


@contextmanager
def cards_through_stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeStandIn]:
    """The deployment takes cards, through the local Stripe stand-in (its keys in the
    settings of the stores now in force)."""
    stand_in = StripeStandIn(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET).start()
    monkeypatch.setenv("IMAGEGATE_STRIPE_SECRET_KEY", STRIPE_SECRET_KEY)
    monkeypatch.setenv("IMAGEGATE_STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv("IMAGEGATE_STRIPE_API_BASE", stand_in.url)
    container.reset()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def endpoint_in_service(name: str) -> None:
    """A SageMaker endpoint ``name`` in service on the local AWS stand-in (moto), as
    DescribeEndpoint answers for a deployed one: a catalog model on it is served."""
    import boto3

    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    variant = {
        "VariantName": "main",
        "ModelName": f"{name}-model",
        "InstanceType": "ml.g4dn.xlarge",
        "InitialInstanceCount": 1,
    }
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config", ProductionVariants=[variant]
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
