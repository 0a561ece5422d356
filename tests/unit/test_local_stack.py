import boto3
import pytest

from handler.cli.local import LocalStack, local_environment
from handler.cli.template import Template
from tests.support import ROOT

MOTO = "http://127.0.0.1:5999"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://stale-global-override")
    monkeypatch.setenv("AWS_PROFILE", "someone-real")


def _endpoint(service: str) -> str:
    return str(boto3.client(service, region_name="us-east-1").meta.endpoint_url)  # type: ignore[call-overload]


def test_only_the_local_services_go_to_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    # When the local stack is activated (it sets the environment: monkeypatch restores it)
    for name in (
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.setenv(name, "placeholder")
    monkeypatch.delenv("AWS_PROFILE")
    LocalStack(MOTO, "us-east-1", {}).activate()
    # Then DynamoDB, S3, SQS and EventBridge are local, SageMaker is AWS's, and no real
    # profile is in force
    assert _endpoint("dynamodb") == MOTO
    assert _endpoint("s3") == MOTO
    assert _endpoint("sqs") == MOTO
    assert _endpoint("events") == MOTO
    assert "amazonaws.com" in _endpoint("sagemaker-runtime")
    import os

    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert "AWS_PROFILE" not in os.environ


def test_real_aws_keeps_the_users_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.setenv(name, "placeholder")
    LocalStack(MOTO, "us-east-1", {}, real_aws=True).activate()
    assert os.environ["AWS_PROFILE"] == "someone-real"
    assert "AWS_ENDPOINT_URL" not in os.environ
    monkeypatch.delenv("AWS_PROFILE")  # the profile does not exist here; keep boto3 happy
    assert _endpoint("dynamodb") == MOTO


@pytest.mark.parametrize(
    ("real_aws", "environment", "served"),
    [
        (False, {}, False),  # make dev: no Bedrock here, its models not listed
        (True, {}, True),  # --real-aws: the template's grants, on the caller's account
        (False, {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9"}, True),  # a stand-in
    ],
)
def test_bedrock_is_granted_locally_only_where_it_can_answer(
    monkeypatch: pytest.MonkeyPatch, real_aws: bool, environment: dict[str, str], served: bool
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.delenv("IMAGEGATE_BEDROCK_MODEL_ARNS", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    template = Template.load(ROOT / "template.yaml")
    names = dict.fromkeys(template.body["Resources"], "local")
    granted = local_environment(template, names, ROOT / "infra" / "catalog.json", real_aws=real_aws)
    default = template.body["Parameters"]["BedrockModelArns"]["Default"]
    assert granted["IMAGEGATE_BEDROCK_MODEL_ARNS"] == (default if served else "")


def test_the_callers_bedrock_grants_win_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    arns = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0"
    monkeypatch.setenv("IMAGEGATE_BEDROCK_MODEL_ARNS", arns)
    template = Template.load(ROOT / "template.yaml")
    names = dict.fromkeys(template.body["Resources"], "local")
    environment = local_environment(template, names, ROOT / "infra" / "catalog.json")
    assert environment["IMAGEGATE_BEDROCK_MODEL_ARNS"] == arns
