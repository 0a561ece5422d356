"""``imagegate prune-versions`` on a deployed stack (moto's Lambda and CloudFormation): the
versions no alias serves go, but the newest of them, kept for a rollback."""

import io
import json
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from handler.cli.main import app

ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _code(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", text)
    return buffer.getvalue()


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A stack whose API function has five published versions: ``live`` on the fifth, a
    ``canary`` alias sending part of its traffic to the second."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        role = boto3.client("iam").create_role(
            RoleName="api", AssumeRolePolicyDocument=json.dumps(ROLE_POLICY)
        )["Role"]["Arn"]
        lam = boto3.client("lambda")
        arn = lam.create_function(
            FunctionName="imagegate-ApiFunction-Q1W2E3",
            Runtime="python3.13",
            Role=role,
            Handler="handler.main.api.lambda_handler",
            Code={"ZipFile": _code("v0")},
        )["FunctionArn"]
        for release in range(1, 6):
            lam.update_function_code(FunctionName=arn, ZipFile=_code(f"v{release}"))
            lam.publish_version(FunctionName=arn)
        lam.create_alias(FunctionName=arn, Name="live", FunctionVersion="5")
        lam.create_alias(
            FunctionName=arn,
            Name="canary",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
        )
        template = {
            "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"ApiFunctionArn": {"Value": arn}},
        }
        boto3.client("cloudformation").create_stack(
            StackName="imagegate", TemplateBody=json.dumps(template)
        )
        yield arn


def _versions(arn: str) -> list[str]:
    name = arn.rsplit(":", 1)[-1]
    listed = boto3.client("lambda").list_versions_by_function(FunctionName=name)["Versions"]
    return [v["Version"] for v in listed]


def test_the_versions_no_alias_serves_go_but_the_newest_of_them(deployed: str) -> None:
    result = CliRunner().invoke(
        app, ["prune-versions", "--stack", "imagegate"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    # live's 5, canary's 1 and 2 stay; of 3 and 4, the newer is kept for a rollback
    assert sorted(_versions(deployed)) == ["$LATEST", "1", "2", "4", "5"]
    assert result.output == ("imagegate-ApiFunction-Q1W2E3: deleted versions 3; kept 1, 2, 4, 5.\n")
    assert max(len(line) for line in result.output.splitlines()) <= 80
    # Run again: nothing more to delete
    again = CliRunner().invoke(app, ["prune-versions", "--stack", "imagegate", "--keep", "0"])
    assert again.exit_code == 0, again.output
    assert sorted(_versions(deployed)) == ["$LATEST", "1", "2", "5"]


def test_an_unknown_stack_is_one_line_not_a_traceback(deployed: str) -> None:
    result = CliRunner().invoke(app, ["prune-versions", "--stack", "nope"])
    assert result.exit_code == 1
    assert "No CloudFormation stack named nope" in result.output
