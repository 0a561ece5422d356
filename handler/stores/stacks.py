"""Reads a deployed stack's outputs (for the CLI to find its tables)."""

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from handler.core.errors import NotFound, StorageError


def stack_outputs(stack_name: str) -> dict[str, str]:
    client = boto3.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            raise NotFound(f"No CloudFormation stack named {stack_name}.") from exc
        raise StorageError(f"Could not describe stack {stack_name}.") from exc
    except BotoCoreError as exc:
        raise StorageError(f"Could not describe stack {stack_name}.") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
