"""A SageMaker model is offered while its endpoint serves, as DescribeEndpoint says; the answer
is kept a few minutes, and an answer that is not about the endpoint does not hide it."""

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from handler.backends.sagemaker.endpoints import LOOK_AGAIN_SECONDS, Endpoints


class ControlPlane:
    def __init__(self, answer: str | Exception):
        self.answer = answer
        self.calls = 0

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"EndpointName": EndpointName, "EndpointStatus": self.answer}


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "DescribeEndpoint")


@pytest.mark.parametrize(
    ("answer", "serving"),
    [
        ("InService", True),
        ("Updating", True),
        ("Creating", False),
        ("OutOfService", False),
        ("Failed", False),
        ("Deleting", False),
        (_error("ValidationException"), False),  # no endpoint of that name
        (_error("AccessDeniedException"), False),  # outside the prefix: cannot invoke it
        (_error("UnrecognizedClientException"), False),
        (_error("ThrottlingException"), True),
        (EndpointConnectionError(endpoint_url="https://api.sagemaker"), True),
    ],
)
def test_an_endpoint_serves_in_the_statuses_that_answer(
    answer: str | Exception, serving: bool
) -> None:
    assert Endpoints(lambda: ControlPlane(answer)).serving("imagegate-sd") is serving


def test_the_answer_is_kept_for_a_while() -> None:
    plane = ControlPlane("Creating")
    clock = [1000.0]
    endpoints = Endpoints(lambda: plane, now=lambda: clock[0])
    assert not endpoints.serving("imagegate-sd")
    plane.answer = "InService"
    clock[0] += LOOK_AGAIN_SECONDS - 1
    assert not endpoints.serving("imagegate-sd")
    assert plane.calls == 1
    clock[0] += 1
    assert endpoints.serving("imagegate-sd")
    assert plane.calls == 2
