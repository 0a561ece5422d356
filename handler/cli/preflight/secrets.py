"""Whether the Secrets Manager secrets the stack's parameters name are there: the functions
read them by name (GetSecretValue), and a missing one fails the first request needing it."""

from handler.aws.errors import Refused, aws_errors
from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, fail, ok, unchecked
from handler.core.errors import StorageError

REPLICATE = "ReplicateApiTokenSecret"
CARDS = "StripeSecretKeySecret"  # set: card top-ups are on
WEBHOOK = "StripeWebhookSecret"


def secrets(deployment: Deployment, account: Account) -> list[Finding]:
    values = deployment.parameters
    findings = []
    if values[REPLICATE]:
        findings.append(_secret("replicate", REPLICATE, values[REPLICATE], account))
    if not values[CARDS]:
        return [*findings, ok("stripe", f"cards off ({CARDS} is empty)")]
    findings.append(_secret("stripe key", CARDS, values[CARDS], account))
    if values[WEBHOOK]:
        findings.append(_secret("stripe webhook", WEBHOOK, values[WEBHOOK], account))
    else:
        findings.append(
            fail(
                "stripe webhook",
                f"cards are on but {WEBHOOK} is empty: the template refuses the deploy",
                f"store the webhook endpoint's signing secret (whsec_...) in Secrets Manager "
                f"and name it in {WEBHOOK} (README, Card top-ups)",
            )
        )
    return findings


def _secret(check: str, parameter: str, name: str, account: Account) -> Finding:
    try:
        with aws_errors(f"could not describe {name}", expected={"ResourceNotFoundException"}):
            secret = account.client("secretsmanager").describe_secret(SecretId=name)
    except Refused:
        return fail(
            check,
            f"no secret {name} in {account.region} ({parameter})",
            f"aws secretsmanager create-secret --name {name} --secret-string ...",
        )
    except StorageError as exc:
        return unchecked(check, exc)
    if "DeletedDate" in secret:
        return fail(
            check,
            f"{name} is scheduled for deletion",
            f"aws secretsmanager restore-secret --secret-id {name}",
        )
    return ok(check, f"{name} is there")
