"""The local stack: moto's server (``local_aws``) as DynamoDB, S3, SQS, EventBridge and
Cognito, resources read from ``template.yaml``; the template's queue-triggered functions run
in a local runtime.

Each running stack describes itself in its own file of the state dir (``local_stacks``); the
dev key's plaintext is kept in ``<state dir>/dev-key`` (mode 0600), shared, so it survives
restarts of the in-memory stacks.
"""

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# The stack's machinery (boto3, the container, the template) is imported where it is used:
# `imagegate --help` and the commands that need none of it start at once.
if TYPE_CHECKING:
    from handler.cli.runtime import LocalRuntime
    from handler.cli.stripe_stand_in import StripeStandIn
    from handler.cli.template import Template
    from handler.core.keys import NewKey

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = Path(".imagegate")
REGION = "us-east-1"
RESOURCE_PREFIX = "imagegate-local"
DEV_KEY_NAME = "local dev key"
# The dev key is funded and limited like a generous customer's, so billing shows locally.
DEV_KEY_RPM, DEV_KEY_IPM = 600, 6000
DEV_KEY_BALANCE = 100 * 1_000_000
# The services the stand-in plays; every other one (SageMaker, say) is AWS's own.
LOCAL_SERVICES = (
    "DYNAMODB",
    "S3",
    "SQS",
    "EVENTBRIDGE",
    "COGNITO_IDENTITY_PROVIDER",
    "COGNITO_IDENTITY",
)
# moto accepts any credentials; fixed fake ones keep a real AWS profile out of the picture.
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_IGNORED_AWS_SETTINGS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True)
class LocalStack:
    aws_endpoint_url: str
    region: str
    environment: dict[str, str]
    # True: the user's own AWS configuration stays in force, for real SageMaker endpoints.
    real_aws: bool = False
    # The template's resources: logical id → local name (a queue's: its URL).
    resources: dict[str, str] = field(default_factory=dict)
    api_base_url: str | None = None  # where `imagegate dev` serves the API

    def activate(self) -> None:
        """Point boto3 (the LOCAL_SERVICES only) and ``Settings`` in this process at the stack."""
        from handler import container
        from handler.config import export_environment

        variables = {
            **{f"AWS_ENDPOINT_URL_{service}": self.aws_endpoint_url for service in LOCAL_SERVICES},
            **self.environment,
        }
        drop: tuple[str, ...] = ("AWS_ENDPOINT_URL",)  # it would send every service here
        if not self.real_aws:
            variables.update(_FAKE_CREDENTIALS, AWS_DEFAULT_REGION=self.region)
            # SageMaker's control plane too, so an endpoint is looked for where there is none
            # (GET /v1/models lists only the preview); its runtime stays AWS's, unreached.
            variables["AWS_ENDPOINT_URL_SAGEMAKER"] = self.aws_endpoint_url
            drop += _IGNORED_AWS_SETTINGS
        else:
            drop += ("AWS_ENDPOINT_URL_SAGEMAKER",)
        export_environment(variables, drop=drop)
        container.reset()

    def save(self, path: Path) -> None:
        # Private: the environment holds the stack's webhook signing secret.
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")


def provision(
    aws_endpoint_url: str,
    template_path: Path,
    catalog_path: Path,
    *,
    real_aws: bool = False,
    cards: "StripeStandIn | None" = None,
    parameters: dict[str, str] | None = None,
) -> LocalStack:
    """Create the template's tables and buckets; return the API function's environment (with
    card top-ups through ``cards``, the local Stripe, where it is given), the template's
    ``parameters`` overridden as a deploy would."""
    from handler.aws.clients import dynamodb_client, s3_client, sqs_client
    from handler.cli.members import create_pools
    from handler.cli.template import Template, create_resources

    bootstrap = LocalStack(aws_endpoint_url, REGION, {}, real_aws)
    bootstrap.activate()
    template = Template.load(template_path, parameters)
    names = create_resources(
        template, dynamodb_client(), s3_client(), sqs_client(), RESOURCE_PREFIX
    )
    pools = create_pools(template, RESOURCE_PREFIX, aws_endpoint_url)
    names |= pools.names
    environment = local_environment(template, names, catalog_path, real_aws=real_aws)
    environment["IMAGEGATE_USER_POOL_JWKS_URL"] = pools.jwks_url  # moto's, not AWS's
    if cards is not None:
        environment |= {
            "IMAGEGATE_STRIPE_SECRET_KEY": cards.secret_key,
            "IMAGEGATE_STRIPE_WEBHOOK_SECRET": cards.webhook_secret,
            "IMAGEGATE_STRIPE_API_BASE": cards.url,
        }
    stack = LocalStack(aws_endpoint_url, REGION, environment, real_aws, names)
    stack.activate()
    return stack


def local_environment(
    template: "Template", names: dict[str, str], catalog_path: Path, *, real_aws: bool = False
) -> dict[str, str]:
    """The API function's environment as the template sets it, resolved to the local
    resources ``names``, with what a machine without AWS gives instead."""
    from handler.cli.signing_chain import local_chain

    environment = template.function_environment("ApiFunction", names)
    # Bedrock Guardrails is not played here: moderation is off unless a guardrail is given.
    environment["IMAGEGATE_GUARDRAIL_ID"] = os.environ.get("IMAGEGATE_GUARDRAIL_ID", "")
    if "IMAGEGATE_BEDROCK_MODEL_ARNS" in os.environ:  # the grants asked for, as a deploy would
        environment["IMAGEGATE_BEDROCK_MODEL_ARNS"] = os.environ["IMAGEGATE_BEDROCK_MODEL_ARNS"]
    elif not (real_aws or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")):
        environment["IMAGEGATE_BEDROCK_MODEL_ARNS"] = ""  # no Bedrock here, nor a stand-in
    # In Lambda the catalog sits in the task root; here it is the repository's file.
    environment["IMAGEGATE_CATALOG_FILE"] = str(catalog_path)
    # Secrets Manager is not played locally: the stack's webhook secret is given directly.
    environment["IMAGEGATE_WEBHOOK_SECRET"] = secrets.token_urlsafe(32)
    # Nor is a real CA: images are signed with this process's own test chain.
    environment["IMAGEGATE_PROVENANCE_SIGNING"] = local_chain()[0].to_json()
    environment["IMAGEGATE_LOCAL_WEBHOOKS"] = "true"  # receivers on this machine
    environment["IMAGEGATE_SERVE_PREVIEW"] = "true"  # what the local stack runs on
    # No CloudWatch here: metrics would be EMF lines on stdout, among the lines scripts read.
    environment["POWERTOOLS_METRICS_DISABLED"] = "true"
    return environment


def local_stripe() -> "StripeStandIn":
    """The local Stripe, keyed afresh: card top-ups work on the local stack, offline."""
    from handler.cli.stripe_stand_in import StripeStandIn

    token = secrets.token_hex(12)
    return StripeStandIn(f"sk_test_local_{token}", f"whsec_local_{token}").start()


def in_process_stack(prefix: str, catalog_path: Path) -> "NewKey":
    """Inside ``moto.mock_aws()`` (benchmarks): the template's resources, the API function's
    environment in this process, and a funded key with no limit worth the name."""
    from handler import container
    from handler.aws.clients import dynamodb_client, s3_client, sqs_client
    from handler.cli.local_aws import stand_in
    from handler.cli.template import Template, create_resources
    from handler.core.records.keys import KeyPolicy
    from handler.keys.auth import issue_key

    stand_in()
    container.reset()
    template = Template.load(PROJECT_DIR / "template.yaml")
    names = create_resources(template, dynamodb_client(), s3_client(), sqs_client(), prefix)
    environment = local_environment(template, names, catalog_path)
    os.environ.update(environment, POWERTOOLS_LOG_LEVEL="WARNING")
    container.reset()
    unlimited = KeyPolicy(requests_per_minute=10**6, images_per_minute=10**6)
    return issue_key(
        container.key_store(),
        prefix,
        unlimited,
        balance=10**15,
        now=0,
        actor="imagegate",
        source="cli",
    )


def start_runtime(
    stack: LocalStack, template_path: Path, *, visibility_timeout: int | None = None
) -> "LocalRuntime":
    """Run the template's queue-fed functions (splitter, worker, dead letters) here; a
    message they fail shows again after its queue's visibility timeout, or this one's."""
    from handler.aws.clients import sqs_client
    from handler.cli.runtime import LocalRuntime
    from handler.cli.template import Template

    return LocalRuntime(
        Template.load(template_path),
        stack.resources,
        sqs_client(),
        visibility_timeout=visibility_timeout,
    ).start()


def ensure_dev_key(state_dir: Path) -> str:
    """Register the saved dev key in the fresh stack, or issue and save a new one."""
    from handler import container
    from handler.core.errors import AuthenticationFailed
    from handler.core.records.keys import KeyPolicy
    from handler.keys.auth import issue_key, register_key

    policy = KeyPolicy(requests_per_minute=DEV_KEY_RPM, images_per_minute=DEV_KEY_IPM)
    path = state_dir / "dev-key"
    keys = container.key_store()
    now = int(time.time())
    if path.exists():
        plaintext = path.read_text().strip()
        try:
            register_key(keys, plaintext, DEV_KEY_NAME, policy, balance=DEV_KEY_BALANCE, now=now)
        except AuthenticationFailed:
            pass  # unreadable saved key: issue a new one below
        else:
            return plaintext
    new = issue_key(
        keys,
        DEV_KEY_NAME,
        policy,
        balance=DEV_KEY_BALANCE,
        now=now,
        actor="imagegate dev",
        source="cli",
    )
    write_private(path, new.plaintext + "\n")
    return new.plaintext


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # the mode above applies only when the file is new
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
