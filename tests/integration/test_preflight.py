"""``imagegate preflight`` against a fake account: moto's SageMaker, Secrets Manager and
CloudFormation, Stubbers for Lambda's account settings and Bedrock's control plane."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from handler.cli.main import app
from handler.cli.preflight.findings import Status
from handler.cli.preflight.provenance import provenance
from handler.cli.preflight.sagemaker import sagemaker
from handler.cli.preflight.secrets import secrets
from handler.cli.signing_chain import SIGNER_NAME, issue_chain, local_chain
from handler.core.catalog import load_catalog
from tests.preflight_account import FakeAccount, deployment
from tests.support import ROOT

ENDPOINTS = ("imagegate-diffusers", "imagegate-jumpstart-sd21")
CARDS = {"StripeSecretKeySecret": "imagegate/stripe", "StripeWebhookSecret": "imagegate/whsec"}


@pytest.fixture
def account() -> Iterator[FakeAccount]:
    with mock_aws():
        yield FakeAccount()


def _serve(account: FakeAccount, *endpoints: str) -> None:
    client = account.client("sagemaker")
    for name in endpoints:
        client.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        client.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "main",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge",
                }
            ],
        )
        client.create_endpoint(EndpointName=name, EndpointConfigName=name)


def _store(account: FakeAccount, *names: str) -> None:
    for name in names:
        account.client("secretsmanager").create_secret(Name=name, SecretString="s")


def test_endpoints_in_service_pass_and_a_missing_one_is_named(account: FakeAccount) -> None:
    _serve(account, ENDPOINTS[0])
    catalog = load_catalog(ROOT / "infra" / "catalog.json")
    serving, missing = sagemaker(deployment(), catalog, account)
    assert (serving.status, serving.message) == (Status.OK, "InService, serves sd-imagegate")
    assert missing.status is Status.WARN
    assert missing.message == (
        "no endpoint of that name in us-east-1: stable-diffusion-2-1-jumpstart is not served "
        "until there is one"
    )
    assert missing.fix is not None
    assert missing.fix.startswith("deploy it (README, SageMaker endpoints)")


def test_cards_on_need_both_stripe_secrets(account: FakeAccount) -> None:
    # Given the Stripe key stored, its webhook secret not
    _store(account, CARDS["StripeSecretKeySecret"])
    key, webhook = secrets(deployment(**CARDS), account)
    assert (key.status, key.message) == (Status.OK, "imagegate/stripe is there")
    assert (webhook.status, webhook.message) == (
        Status.FAIL,
        "no secret imagegate/whsec in us-east-1 (StripeWebhookSecret)",
    )
    assert (
        webhook.fix == "aws secretsmanager create-secret --name imagegate/whsec --secret-string ..."
    )


def test_cards_on_without_a_webhook_secret_and_a_secret_being_deleted(
    account: FakeAccount,
) -> None:
    _store(account, "imagegate/replicate", CARDS["StripeSecretKeySecret"])
    account.client("secretsmanager").delete_secret(
        SecretId="imagegate/replicate", RecoveryWindowInDays=7
    )
    plan = deployment(
        ReplicateApiTokenSecret="imagegate/replicate",
        StripeSecretKeySecret=CARDS["StripeSecretKeySecret"],
    )
    replicate, key, webhook = secrets(plan, account)
    assert (replicate.status, replicate.message) == (
        Status.FAIL,
        "imagegate/replicate is scheduled for deletion",
    )
    assert key.status is Status.OK
    assert webhook.status is Status.FAIL
    assert "StripeWebhookSecret is empty" in webhook.message
    assert [f.message for f in secrets(deployment(), account)] == [
        "cards off (StripeSecretKeySecret is empty)"
    ]


def _signing_secret(account: FakeAccount, value: str) -> str:
    created = account.client("secretsmanager").create_secret(
        Name="imagegate/c2pa", SecretString=value
    )
    return str(created["ARN"])


def test_images_unsigned_is_a_warning_and_a_signing_secret_is_tried(account: FakeAccount) -> None:
    # Given no signing secret: a warning, saying what it means
    unsigned = provenance(deployment(), account)
    assert unsigned.status is Status.WARN
    assert "without a C2PA manifest" in unsigned.message
    # Given a secret with a chain c2pa signs with: named, with its end
    arn = _signing_secret(account, local_chain()[0].to_json())
    signed = provenance(deployment(ProvenanceSigningSecret=arn), account)
    assert signed.status is Status.OK, signed.message
    assert f"CN={SIGNER_NAME}" in signed.message


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("not json", "not a JSON object"),
        # a CA's certificate (self-signed, no digitalSignature use) with a key of its own
        ('{"certificate_chain": %s, "private_key": %s}', "c2pa cannot sign with the secret"),
    ],
)
def test_a_signing_secret_c2pa_cannot_use_fails(
    account: FakeAccount, value: str, said: str
) -> None:
    credentials, ca = issue_chain()
    if "%s" in value:
        value = value % (json.dumps(ca), json.dumps(credentials.private_key))
    arn = _signing_secret(account, value)
    refused = provenance(deployment(ProvenanceSigningSecret=arn), account)
    assert refused.status is Status.FAIL
    assert said in refused.message


def test_a_missing_signing_secret_fails(account: FakeAccount) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imagegate/none-AbCdEf"
    missing = provenance(deployment(ProvenanceSigningSecret=arn), account)
    assert missing.status is Status.FAIL
    assert missing.message.startswith("no secret")


def _preflight(
    account: FakeAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: str
) -> tuple[int, str]:
    """The command, as `make deploy` runs it, on this account and a samconfig.toml with
    these overrides."""
    config = tmp_path / "samconfig.toml"
    config.write_text(
        f'version = 0.1\n[default.deploy.parameters]\nstack_name = "imagegate"\n'
        f'region = "us-east-1"\nparameter_overrides = "{overrides}"\n'
    )
    monkeypatch.setattr("handler.cli.preflight.account.Account", lambda *_: account)
    result = CliRunner().invoke(app, ["preflight", "--config", str(config)])
    account.answered()
    return result.exit_code, result.output


def test_an_account_where_all_is_well_passes(
    account: FakeAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 1000 account, the granted models subscribed, both endpoints and the secrets there
    account.limits(1000)
    account.offers_granted()
    _serve(account, *ENDPOINTS)
    _store(account, "imagegate/replicate", *CARDS.values())
    signing = _signing_secret(account, local_chain()[0].to_json())
    given = {
        **CARDS,
        "ReplicateApiTokenSecret": "imagegate/replicate",
        "ProvenanceSigningSecret": signing,
    }
    overrides = " ".join(f"{k}={v}" for k, v in given.items())
    # When preflight runs
    status, output = _preflight(account, tmp_path, monkeypatch, overrides)
    # Then every line is OK, and the command succeeds
    assert status == 0, output
    firsts = [line for line in output.splitlines() if not line.startswith(" ")]
    assert {line.split()[0] for line in firsts} == {"OK"}
    assert len(firsts) == 11


def test_a_new_account_fails_with_what_to_do_at_80_columns(
    account: FakeAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a new account: a limit of 400 (and a deploy reserving 400), Stability never
    # subscribed, no endpoint, cards on without their secrets
    account.limits(400)
    for model_id in ("stability.stable-image-ultra-v1:1", "stability.stable-image-core-v1:1"):
        account.offers(model_id)
    account.offers(
        "stability.sd3-5-large-v1:0",
        agreementAvailability={"status": "NOT_AVAILABLE"},
        entitlementAvailability="NOT_AVAILABLE",
    )
    overrides = " ".join(f"{k}={v}" for k, v in {**CARDS, "ApiReservedConcurrency": "400"}.items())
    # When preflight runs
    status, output = _preflight(account, tmp_path, monkeypatch, overrides)
    # Then it fails, each failure followed by its fix, and reads at 80 columns
    assert status == 1
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80, output
    statuses = [line.split()[0] for line in lines if not line.startswith(" ")]
    # (sd3.5's subscription is made on first use: the template lets the roles subscribe)
    assert statuses == ["FAIL", "OK", "OK", "OK", "OK", "WARN", "WARN", "FAIL", "FAIL", "WARN"]
    assert len([line for line in lines if line.startswith("      fix: ")]) == 6
    assert "set ApiReservedConcurrency=297 or less" in output
    # And the README shows this very output
    assert f"```\n{output}```" in (ROOT / "README.md").read_text()


def test_without_a_region_or_credentials_it_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "samconfig.toml"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    nowhere = CliRunner().invoke(app, ["preflight", "--config", str(config)])
    assert nowhere.exit_code == 2
    assert "no region" in nowhere.output
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # nor this machine's role
    anonymous = CliRunner().invoke(
        app, ["preflight", "--config", str(config), "--region", "eu-west-1"]
    )
    assert anonymous.exit_code == 2
    assert "no AWS credentials" in anonymous.output
