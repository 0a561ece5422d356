"""The local stack in-process: moto's server for DynamoDB, S3 and SQS (S3 delivers its
notifications), the splitter, worker and dead-letter functions run by the local runtime, the
API through a TestClient."""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from handler import container
from handler.app import create_app
from handler.cli.gateway import Gateway, GatewayServer, RestApi
from handler.cli.local import provision, start_runtime
from handler.cli.local_aws import LocalAws
from handler.cli.runtime import LocalRuntime
from handler.cli.template import Template
from handler.main.admin_api import lambda_handler as admin_api_handler
from handler.main.api import lambda_handler as api_handler
from handler.main.member_api import lambda_handler as member_api_handler
from tests.support import ROOT


@dataclass
class Local:
    runtime: LocalRuntime
    client: TestClient
    bucket: str

    def wait(self) -> None:
        self.runtime.wait_until_idle(timeout=120)


@pytest.fixture
def local(request: pytest.FixtureRequest) -> Iterator[Local]:
    # A failed line shows again after 5 s, not the template's 30 minutes (or as marked).
    marked = request.node.get_closest_marker("visibility_timeout")
    visibility_timeout = 5 if marked is None else int(marked.args[0])
    # The template's parameters, as a deploy would override them.
    given = request.node.get_closest_marker("parameters")
    parameters = None if given is None else dict(given.kwargs)
    saved = dict(os.environ)
    aws = LocalAws().start()
    try:
        stack = provision(
            f"http://127.0.0.1:{aws.port}",
            ROOT / "template.yaml",
            ROOT / "infra" / "catalog.json",
            parameters=parameters,
        )
        runtime = start_runtime(
            stack, ROOT / "template.yaml", visibility_timeout=visibility_timeout
        )
        try:
            with TestClient(create_app(), raise_server_exceptions=False) as client:
                yield Local(runtime, client, stack.resources["ImagesBucket"])
        finally:
            runtime.stop()
    finally:
        httpx.post(f"http://127.0.0.1:{aws.port}/moto-api/reset")  # moto's state is global
        aws.stop()
        os.environ.clear()
        os.environ.update(saved)
        container.reset()


@pytest.fixture
def origin(local: Local) -> Iterator[str]:
    """The API function behind the local API Gateway, on the local stack: its origin and
    stage (``http://127.0.0.1:<port>/prod``)."""
    server = GatewayServer("127.0.0.1", 0)
    api = RestApi.from_template(Template.load(ROOT / "template.yaml"))
    functions = {
        "ApiFunction": api_handler,
        "AdminApiFunction": admin_api_handler,
        "MemberApiFunction": member_api_handler,
    }
    server.start(Gateway(api, functions))
    try:
        yield f"http://127.0.0.1:{server.port}/{api.stage}"
    finally:
        server.close()
