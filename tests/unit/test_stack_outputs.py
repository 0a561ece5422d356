import boto3
import pytest
from botocore.stub import Stubber

from handler.cli.stacks import stack_outputs
from handler.core.errors import NotFound


def _client() -> object:
    return boto3.client("cloudformation", region_name="us-east-1")


def test_outputs_become_a_mapping() -> None:
    client = _client()
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "imagegate",
                        "CreationTime": "2026-11-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": "KeysTableName", "OutputValue": "keys-1"}],
                    }
                ]
            },
            {"StackName": "imagegate"},
        )
        assert stack_outputs("imagegate", client) == {"KeysTableName": "keys-1"}  # type: ignore[arg-type]


def test_a_missing_stack_is_not_found() -> None:
    client = _client()
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_client_error(
            "describe_stacks", "ValidationError", "Stack with id nope does not exist"
        )
        with pytest.raises(NotFound, match="No CloudFormation stack named nope"):
            stack_outputs("nope", client)  # type: ignore[arg-type]
