"""Whether each Bedrock model the deploy serves can be invoked where its grant says: offered
in that region, on demand or through the granted profile, not past its life, and subscribed
(or subscribable on first use: Stability's models come through AWS Marketplace)."""

from typing import Any

from handler.aws.errors import Refused, aws_errors
from handler.backends.bedrock.grants import Grants, Target
from handler.backends.bedrock.params import BedrockParams
from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, fail, ok, unchecked, warn
from handler.core.catalog import Catalog
from handler.core.errors import StorageError

GRANTS = "BedrockModelArns"
# What Bedrock's automatic subscription needs of the role that first invokes a Marketplace
# model (Bedrock user guide, "Request access to models").
SUBSCRIBING = "aws-marketplace:Subscribe"
_MARKETPLACE = "aws-marketplace:Subscribe, Unsubscribe and ViewSubscriptions"


def bedrock(deployment: Deployment, catalog: Catalog, account: Account) -> list[Finding]:
    grants = Grants(",".join(deployment.value({"Ref": GRANTS})))
    findings = []
    for placed in catalog.placed("bedrock"):
        params = BedrockParams.model_validate(placed.backend_params)
        target = grants.target(params.model_id, params.region)
        check = f"bedrock {placed.where}"
        if target is not None:
            findings.append(_model(check, params.model_id, target, deployment, account))
        elif params.region is not None:  # a placement named a region the stack does not grant
            findings.append(
                fail(
                    check,
                    f"{params.model_id} is not granted in {params.region}: this placement "
                    "is never used",
                    f"grant its ARN in {params.region} ({GRANTS}), or drop the placement",
                )
            )
    return findings or [ok("bedrock", f"no catalog model is granted ({GRANTS})")]


def _model(
    check: str, model_id: str, target: Target, deployment: Deployment, account: Account
) -> Finding:
    client = account.client("bedrock", target.region)
    try:
        with aws_errors(
            f"could not read {model_id} in {target.region}",
            expected={"ResourceNotFoundException", "ValidationException"},
        ):
            details = client.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
            availability = client.get_foundation_model_availability(modelId=model_id)
    except Refused:
        return fail(
            check,
            f"{model_id} is not offered in {target.region}",
            f"grant it in a region that offers it ({GRANTS})",
        )
    except StorageError as exc:
        return unchecked(check, exc)
    where = f"{model_id} in {target.region}"
    # Both are optional in Bedrock's answer: a model that says nothing is taken as it is.
    on_demand = "ON_DEMAND" in details.get("inferenceTypesSupported", ["ON_DEMAND"])
    if target.model_id == model_id and not on_demand:
        return fail(
            check,
            f"{where} runs only through an inference profile",
            f"grant the profile's ARN ({GRANTS}; README, Amazon Bedrock)",
        )
    refused = _access(check, where, availability, deployment.allows(SUBSCRIBING))
    if refused is not None:
        return refused
    if availability.get("agreementAvailability", {}).get("status") == "NOT_AVAILABLE":
        where += ", subscribed on first use"
    return _lifecycle(check, where, details.get("modelLifecycle", {"status": "ACTIVE"}))


def _access(
    check: str, where: str, availability: dict[str, Any], subscribes: bool
) -> Finding | None:
    """What stands between the account and its first image, if anything."""
    agreement = availability.get("agreementAvailability", {})
    if availability["regionAvailability"] != "AVAILABLE":
        return fail(
            check, f"{where} is not available to this account", f"grant another region ({GRANTS})"
        )
    if availability["authorizationStatus"] != "AUTHORIZED":
        return fail(
            check,
            f"{where}: this account is not authorized to use it",
            "an IAM policy or service control policy denies it: ask the account's "
            "administrators to allow it",
        )
    if agreement.get("status") == "ERROR":
        return fail(
            check,
            f"{where}: its AWS Marketplace subscription failed "
            f"({agreement.get('errorMessage', 'no reason given')})",
            "the account needs a valid payment method for AWS Marketplace; then subscribe "
            "again (Bedrock console, Model catalog, the model)",
        )
    if agreement.get("status") == "PENDING":
        return warn(check, f"{where}: its subscription is being set up (up to 15 minutes)")
    if agreement.get("status") == "NOT_AVAILABLE" and not subscribes:
        return fail(
            check,
            f"{where} is not subscribed, and the functions' roles may not subscribe on first use",
            f"subscribe once (Bedrock console, Model catalog, the model), or give the "
            f"roles that invoke it {_MARKETPLACE}",
        )
    if (
        agreement.get("status") == "AVAILABLE"
        and availability["entitlementAvailability"] != "AVAILABLE"
    ):
        return warn(check, f"{where}: subscribed, but the entitlement is not active yet")
    return None


def _lifecycle(check: str, where: str, lifecycle: dict[str, Any]) -> Finding:
    if lifecycle["status"] == "ACTIVE":
        return ok(check, where)
    end = lifecycle.get("endOfLifeTime")
    return warn(
        check,
        f"{where} is {lifecycle['status']}"
        + (f", end of life {end:%Y-%m-%d}" if end is not None else ""),
        "set its shutdown_date and successor in the catalog",
    )
