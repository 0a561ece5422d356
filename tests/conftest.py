"""Fixtures for the unit and integration layers.

Integration tests run against moto in-process (``mock_aws``): the tables and bucket are made
from template.yaml by the same code the local stack uses.
"""

import io
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from handler import container
from handler.app import create_app
from handler.aws.clients import dynamodb_client, s3_client, sqs_client
from handler.cli.local_aws import stand_in
from handler.cli.signing_chain import local_signing_credentials
from handler.cli.template import Template, create_resources
from handler.keys.auth import issue_key, register_key
from handler.observability import logger
from tests.support import FUNDED, GENEROUS, ROOT, SAMPLE_EVENT_KEY

TABLES_PREFIX = "test"
stand_in()  # moto as the local stack runs it, here too


@pytest.fixture(scope="session", autouse=True)
def deprecations_are_errors_in_subprocesses() -> Iterator[None]:
    """pytest makes every warning an error (pyproject.toml); the Pythons the tests start (the
    local stack, the Lambda entry in a clean interpreter, the CLI) do likewise with what is
    deprecated, where Python would otherwise hide it: what warns on the functions' Python
    today is an error on a later one."""
    before = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = "error::DeprecationWarning,error::PendingDeprecationWarning"
    yield
    if before is None:
        del os.environ["PYTHONWARNINGS"]
    else:
        os.environ["PYTHONWARNINGS"] = before


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("IMAGEGATE_KEYS_TABLE", f"{TABLES_PREFIX}-keystable")
    monkeypatch.setenv("IMAGEGATE_USAGE_TABLE", f"{TABLES_PREFIX}-usagetable")
    monkeypatch.setenv("IMAGEGATE_LEDGER_TABLE", f"{TABLES_PREFIX}-ledgertable")
    monkeypatch.setenv("IMAGEGATE_MEMBERS_TABLE", f"{TABLES_PREFIX}-memberstable")
    monkeypatch.setenv("IMAGEGATE_IDEMPOTENCY_TABLE", f"{TABLES_PREFIX}-idempotencytable")
    monkeypatch.setenv("IMAGEGATE_WORK_TABLE", f"{TABLES_PREFIX}-jobstable")
    monkeypatch.setenv(
        "IMAGEGATE_WORK_QUEUE_URL",
        f"https://sqs.us-east-1.amazonaws.com/123456789012/{TABLES_PREFIX}-workqueue",
    )
    monkeypatch.setenv(
        "IMAGEGATE_WEBHOOK_QUEUE_URL",
        f"https://sqs.us-east-1.amazonaws.com/123456789012/{TABLES_PREFIX}-webhookqueue",
    )
    monkeypatch.setenv(
        "IMAGEGATE_RELOAD_QUEUE_URL",
        f"https://sqs.us-east-1.amazonaws.com/123456789012/{TABLES_PREFIX}-reloadqueue",
    )
    monkeypatch.setenv("IMAGEGATE_WEBHOOK_SECRET", "test-webhook-master-secret")
    monkeypatch.setenv("IMAGEGATE_PROVENANCE_SIGNING", local_signing_credentials())
    monkeypatch.setenv("IMAGEGATE_IMAGES_BUCKET", f"{TABLES_PREFIX}-imagesbucket")
    monkeypatch.setenv("IMAGEGATE_CATALOG_FILE", str(ROOT / "infra" / "catalog.json"))
    container.reset()
    yield
    container.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    """DynamoDB, S3 and SQS (moto, in-process) with template.yaml's tables, bucket, queues."""
    with mock_aws():
        template = Template.load(ROOT / "template.yaml")
        create_resources(template, dynamodb_client(), s3_client(), sqs_client(), TABLES_PREFIX)
        yield


@pytest.fixture
def api_key(aws: None) -> str:
    return issue_key(
        container.key_store(),
        "test key",
        GENEROUS,
        balance=FUNDED,
        now=1_700_000_000,
        actor="test",
        source="cli",
    ).plaintext


@pytest.fixture
def sample_event_key(aws: None) -> str:
    register_key(
        container.key_store(),
        SAMPLE_EVENT_KEY,
        "sample events",
        GENEROUS,
        balance=FUNDED,
        now=1_700_000_000,
    )
    return SAMPLE_EVENT_KEY


@pytest.fixture
def client(aws: None) -> Iterator[TestClient]:
    # raise_server_exceptions=False: unexpected errors must reach the 500 handler as in prod.
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """Everything the Powertools logger writes from now on, parsed."""
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
