"""A restored SnapStart copy forgets the session and clients of the snapshot."""

import boto3

from handler.aws import clients


def test_forgetting_sessions_drops_the_default_session_and_every_cached_client() -> None:
    boto3.setup_default_session()
    made = clients.dynamodb_client(), clients.invocation_client("bedrock-runtime", 10)
    clients.forget_sessions()
    assert boto3.DEFAULT_SESSION is None
    assert clients.dynamodb_client() is not made[0]
    assert clients.invocation_client("bedrock-runtime", 10) is not made[1]
