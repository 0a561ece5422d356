"""A fake account for ``imagegate preflight``: the calls moto does not play (Lambda's account
settings, Bedrock's control plane) answer through botocore Stubbers, queued by the test; the
others go to moto when the test runs under it."""

import datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.samconfig import SamConfig
from handler.cli.template import Template
from tests.support import ROOT

# The Stability models the template grants by default, in the region it grants them.
GRANTED = (
    "stability.stable-image-ultra-v1:1",
    "stability.stable-image-core-v1:1",
    "stability.sd3-5-large-v1:0",
)
BEDROCK_REGION = "us-west-2"


def deployment(**overrides: str) -> Deployment:
    """template.yaml as a deploy with these parameter overrides would make it."""
    return Deployment.of(Template.load(ROOT / "template.yaml"), SamConfig(overrides=overrides))


class FakeAccount(Account):
    def __init__(self, region: str = "us-east-1"):
        super().__init__(boto3.Session(region_name=region), region)
        self.stubs: dict[tuple[str, str], Stubber] = {}

    def stub(self, service: str, region: str | None = None) -> Stubber:
        key = (service, region or self.region)
        if key not in self.stubs:
            self.stubs[key] = Stubber(self.client(*key))
            self.stubs[key].activate()
        return self.stubs[key]

    def limits(self, limit: int, unreserved: int | None = None) -> None:
        settings = {
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit if unreserved is None else unreserved,
        }
        self.stub("lambda").add_response("get_account_settings", {"AccountLimit": settings}, {})

    def offers(
        self,
        model_id: str,
        *,
        region: str = BEDROCK_REGION,
        lifecycle: str = "ACTIVE",
        inference: tuple[str, ...] = ("ON_DEMAND",),
        **availability: Any,
    ) -> None:
        """Bedrock offers ``model_id`` in ``region``: its details, then its availability
        (everything available unless ``availability`` says otherwise)."""
        stub = self.stub("bedrock", region)
        life: dict[str, Any] = {"status": lifecycle}
        if lifecycle == "LEGACY":
            life["endOfLifeTime"] = datetime.datetime(2026, 12, 31)
        details = {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "inferenceTypesSupported": list(inference),
            "modelLifecycle": life,
        }
        stub.add_response(
            "get_foundation_model", {"modelDetails": details}, {"modelIdentifier": model_id}
        )
        answer = {
            "modelId": model_id,
            "agreementAvailability": {"status": "AVAILABLE"},
            "authorizationStatus": "AUTHORIZED",
            "entitlementAvailability": "AVAILABLE",
            "regionAvailability": "AVAILABLE",
        }
        stub.add_response(
            "get_foundation_model_availability", {**answer, **availability}, {"modelId": model_id}
        )

    def offers_granted(self) -> None:
        for model_id in GRANTED:
            self.offers(model_id)

    def answered(self) -> None:
        """Every answer queued was asked for."""
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
