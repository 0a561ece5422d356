"""Each failure preflight reports from Lambda and Bedrock (botocore Stubbers: moto plays
neither call), with its fix, and what passes."""

from dataclasses import replace

import pytest

from handler.cli.preflight.bedrock import SUBSCRIBING, bedrock
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, Status
from handler.cli.preflight.lambda_checks import concurrency, snapstart
from handler.cli.preflight.sagemaker import sagemaker
from handler.core.catalog import Catalog, CatalogModel, load_catalog
from tests.preflight_account import FakeAccount, deployment
from tests.support import ROOT

CATALOG = load_catalog(ROOT / "infra" / "catalog.json")
SD35 = "stability.sd3-5-large-v1:0"


@pytest.fixture
def account() -> FakeAccount:
    return FakeAccount()


# The template reserves nothing by default; these deploys reserve as the README suggests.
RESERVING = {"ApiReservedConcurrency": "400"}


def test_reservations_that_fit_pass(account: FakeAccount) -> None:
    account.limits(1000)
    found = concurrency(deployment(**RESERVING), account)
    assert (found.status, found.message) == (
        Status.OK,
        "403 reserved, 900 free to reserve in us-east-1",
    )


def test_a_new_account_s_limit_names_the_value_that_fits(account: FakeAccount) -> None:
    # Given an account whose limit is 400 (the API alone reserves 400, plus 1 and 2)
    account.limits(400)
    found = concurrency(deployment(**RESERVING), account)
    # Then: the 300 reservable, and the API's reservation that fits with the other 3
    assert found.status is Status.FAIL
    assert "reserve 403" in found.message
    assert "so 300 can be reserved" in found.message
    assert found.fix is not None
    assert found.fix.startswith("set ApiReservedConcurrency=297 or less")
    assert "Service Quotas" in found.fix


def test_an_account_too_small_for_any_reservation_is_told_to_reserve_none(
    account: FakeAccount,
) -> None:
    account.limits(100)
    found = concurrency(deployment(**RESERVING), account)
    assert found.status is Status.FAIL
    assert found.fix is not None
    assert found.fix.startswith("set ApiReservedConcurrency=0 ")
    # And with 0 the same account passes: nothing is reserved
    account.limits(100)
    assert concurrency(deployment(ApiReservedConcurrency="0"), account).status is Status.OK


def test_other_functions_reservations_count_and_the_stack_s_own_are_freed(
    account: FakeAccount,
) -> None:
    # Given 600 reserved elsewhere in a 1000 account, 400 of it by this stack's own API
    plan = replace(deployment(**RESERVING), stack_name="imagegate")
    account.limits(1000, unreserved=400)
    account.stub("cloudformation").add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "ApiFunction",
                    "PhysicalResourceId": "imagegate-ApiFunction-1",
                    "ResourceType": "AWS::Lambda::Function",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                }
            ]
        },
        {"StackName": "imagegate"},
    )
    account.stub("lambda").add_response(
        "get_function_concurrency",
        {"ReservedConcurrentExecutions": 400},
        {"FunctionName": "imagegate-ApiFunction-1"},
    )
    # Then the deploy may reserve 400 + 400 - 100
    found = concurrency(plan, account)
    assert (found.status, found.message) == (
        Status.OK,
        "403 reserved, 700 free to reserve in us-east-1",
    )
    account.answered()


def test_snapstart_where_aws_does_not_offer_it() -> None:
    found = snapstart(deployment(), FakeAccount("ap-southeast-6"))
    assert found.status is Status.FAIL
    assert "may be stale" in found.message
    assert found.fix == "ApiSnapStart=None"
    assert snapstart(deployment(), FakeAccount("cn-north-1")).status is Status.FAIL
    assert (
        snapstart(deployment(ApiSnapStart="None"), FakeAccount("ap-southeast-6")).status
        is Status.OK
    )
    assert snapstart(deployment(), FakeAccount("eu-west-1")).status is Status.OK


def _sd35(account: FakeAccount, **availability: object) -> Finding:
    """The report on SD3.5 Large alone, granted in us-west-2."""
    plan = deployment(BedrockModelArns=f"arn:aws:bedrock:us-west-2::foundation-model/{SD35}")
    account.offers(SD35, **availability)  # type: ignore[arg-type]
    (found,) = bedrock(plan, CATALOG, account)
    account.answered()
    return found


def test_the_granted_models_offered_and_subscribed_pass(account: FakeAccount) -> None:
    account.offers_granted()
    found = bedrock(deployment(), CATALOG, account)
    assert [f.check for f in found] == [
        "bedrock stable-image-ultra",
        "bedrock stable-image-core",
        "bedrock sd3.5-large",
    ]
    assert {f.status for f in found} == {Status.OK}
    account.answered()


def test_a_model_not_offered_in_its_region(account: FakeAccount) -> None:
    plan = deployment(BedrockModelArns=f"arn:aws:bedrock:eu-west-1::foundation-model/{SD35}")
    account.stub("bedrock", "eu-west-1").add_client_error(
        "get_foundation_model", "ResourceNotFoundException", "no such model"
    )
    (found,) = bedrock(plan, CATALOG, account)
    assert (found.status, found.message) == (Status.FAIL, f"{SD35} is not offered in eu-west-1")
    assert found.fix == "grant it in a region that offers it (BedrockModelArns)"


@pytest.mark.parametrize(
    ("availability", "said", "fix"),
    [
        (
            {"regionAvailability": "NOT_AVAILABLE"},
            "not available to this account",
            "another region",
        ),
        ({"authorizationStatus": "NOT_AUTHORIZED"}, "not authorized", "service control policy"),
        (
            {"agreementAvailability": {"status": "ERROR", "errorMessage": "no payment method"}},
            "subscription failed (no payment method)",
            "valid payment method",
        ),
        (
            {"agreementAvailability": {"status": "NOT_AVAILABLE"}},
            "not subscribed, and the functions' roles may not subscribe",
            "aws-marketplace:Subscribe",
        ),
    ],
)
def test_what_keeps_the_account_from_a_model(
    account: FakeAccount,
    availability: dict[str, object],
    said: str,
    fix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A template whose roles lack the Marketplace grant (template.yaml has it)
    monkeypatch.setattr(Deployment, "allows", lambda self, action: action != SUBSCRIBING)
    found = _sd35(account, **availability)
    assert found.status is Status.FAIL
    assert said in found.message
    assert found.fix is not None
    assert fix in found.fix


def test_a_marketplace_model_the_roles_may_subscribe_to_passes(account: FakeAccount) -> None:
    # template.yaml grants the invoking roles aws-marketplace:Subscribe
    assert deployment().allows(SUBSCRIBING)
    found = _sd35(account, agreementAvailability={"status": "NOT_AVAILABLE"})
    assert (found.status, found.message) == (
        Status.OK,
        f"{SD35} in us-west-2, subscribed on first use",
    )


def test_a_subscription_under_way_and_a_legacy_model_are_warnings(account: FakeAccount) -> None:
    assert _sd35(account, agreementAvailability={"status": "PENDING"}).status is Status.WARN
    legacy = _sd35(account, lifecycle="LEGACY")
    assert legacy.status is Status.WARN
    assert legacy.message.endswith("is LEGACY, end of life 2026-12-31")


def test_a_model_offered_only_through_a_profile_needs_the_profile(account: FakeAccount) -> None:
    found = _sd35(account, inference=("INFERENCE_PROFILE",))
    assert found.status is Status.FAIL
    assert "inference profile" in found.message


def test_models_not_granted_or_shut_down_are_not_asked_about(account: FakeAccount) -> None:
    # nova-canvas is past its date in the default catalog; no model is granted here
    assert [f.message for f in bedrock(deployment(BedrockModelArns=""), CATALOG, account)] == [
        "no catalog model is granted (BedrockModelArns)"
    ]


def test_an_endpoint_that_failed_cannot_serve(account: FakeAccount) -> None:
    stub = account.stub("sagemaker")
    for name, status in (
        ("imagegate-diffusers", "Failed"),
        ("imagegate-jumpstart-sd21", "Creating"),
    ):
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": name,
                "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
                "EndpointConfigName": name,
                "EndpointStatus": status,
                "CreationTime": "2026-01-01T00:00:00Z",
                "LastModifiedTime": "2026-01-01T00:00:00Z",
                **({"FailureReason": "image not found"} if status == "Failed" else {}),
            },
            {"EndpointName": name},
        )
    failed, creating = sagemaker(deployment(), CATALOG, account)
    assert (failed.status, failed.message) == (
        Status.FAIL,
        "Failed (image not found): sd-imagegate cannot be served",
    )
    assert creating.status is Status.WARN


def test_an_endpoint_outside_the_prefix_cannot_be_invoked(account: FakeAccount) -> None:
    found = sagemaker(deployment(SageMakerEndpointPrefix="prod-"), CATALOG, account)
    assert {f.status for f in found} == {Status.FAIL}
    assert (
        found[0].fix
        == "set SageMakerEndpointPrefix to a prefix of imagegate-diffusers, or rename the endpoint"
    )


def test_a_call_the_credentials_may_not_make_is_said_not_checked(account: FakeAccount) -> None:
    account.stub("lambda").add_client_error(
        "get_account_settings", "AccessDeniedException", "not allowed"
    )
    found = concurrency(deployment(), account)
    assert found.status is Status.WARN
    assert found.message.startswith(
        "not checked: could not read Lambda's account settings in us-east-1 ("
    )
    assert "AccessDeniedException" in found.message


def test_each_placement_is_checked_where_it_runs(account: FakeAccount) -> None:
    # Given SD3.5 Large on two placements: us-west-2, granted, and eu-west-1, not granted
    entry = CATALOG.get("sd3.5-large")
    bedrock_at = entry.placements[0].model_dump(exclude={"region"})
    placements = [
        {**bedrock_at, "id": "west", "region": "us-west-2"},
        {**bedrock_at, "id": "europe", "region": "eu-west-1"},
    ]
    card = entry.model_dump(exclude={"placements", "placement"}) | {"placements": placements}
    catalog = Catalog(default_model=None, models=[CatalogModel.model_validate(card)])
    plan = deployment(BedrockModelArns=f"arn:aws:bedrock:us-west-2::foundation-model/{SD35}")
    account.offers(SD35)
    west, europe = bedrock(plan, catalog, account)
    account.answered()
    # Then the one granted is asked about, and the other is named as never used
    assert (west.check, west.status) == ("bedrock sd3.5-large@west", Status.OK)
    assert (europe.check, europe.status) == ("bedrock sd3.5-large@europe", Status.FAIL)
    assert europe.message == f"{SD35} is not granted in eu-west-1: this placement is never used"
