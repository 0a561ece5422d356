"""Reads a deployed stack's outputs (for the CLI to find its tables) and parameters."""

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.clients import client_config
from handler.core.errors import NotFound, StorageError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import StackTypeDef as Stack


@cache
def cloudformation_client() -> "CloudFormationClient":
    """The CLI's alone: no function calls CloudFormation (nor ships its botocore data)."""
    return boto3.client("cloudformation", config=client_config(read_timeout=10))


def stack_outputs(stack_name: str, client: "CloudFormationClient | None" = None) -> dict[str, str]:
    outputs = _described(stack_name, client).get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def stack_parameters(
    stack_name: str, client: "CloudFormationClient | None" = None
) -> dict[str, str]:
    parameters = _described(stack_name, client).get("Parameters", [])
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in parameters}


def _described(stack_name: str, client: "CloudFormationClient | None") -> "Stack":
    try:
        stacks = (client or cloudformation_client()).describe_stacks(StackName=stack_name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            raise NotFound(f"No CloudFormation stack named {stack_name}.") from exc
        raise StorageError(f"Could not describe stack {stack_name}: {exc}") from exc
    except BotoCoreError as exc:  # no region or no credentials configured, say
        raise StorageError(f"Could not describe stack {stack_name}: {exc}") from exc
    return stacks["Stacks"][0]
