"""The one reader of the process environment: the typed configuration object, read on first
use, and what the runtime around the code says of itself (``lambda_runtime``,
``local_s3_endpoint``), readable before the settings and without them; beside them, the
settings only some routes read (``sign_in.py``, ``moderation.py``).

Resource names have no defaults: a function deployed without them fails its first request
with a message naming the missing variable instead of quietly talking to another resource.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handler.config.moderation import ModerationSettings, get_moderation_settings
from handler.config.sign_in import SignInSettings, get_sign_in_settings
from handler.config.unset import Unset, UnsetSecret
from handler.core.amounts import parse_amount

# Lambda refuses a buffered response over 6 MB (6,291,556 bytes), counted with the proxy
# envelope and headers around the body, so a body may take at most a little less.
MAX_BODY_BYTES = 6_291_556 - 64 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 6_000_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEGATE_", frozen=True, extra="ignore")

    keys_table: Annotated[str, Field(min_length=3, description="DynamoDB table of API keys")]
    usage_table: Annotated[
        str, Field(min_length=3, description="DynamoDB table of per-request usage records")
    ]
    ledger_table: Annotated[
        str, Field(min_length=3, description="DynamoDB table of every key's credit ledger")
    ]
    idempotency_table: Annotated[
        str, Field(min_length=3, description="DynamoDB table of Idempotency-Key records")
    ]
    members_table: Annotated[str, Field(min_length=3, description="DynamoDB table of members")]
    work_table: Annotated[
        str, Field(min_length=3, description="DynamoDB table of batches, their lines and jobs")
    ]
    work_queue_url: Annotated[
        str, Field(min_length=8, description="SQS queue of batch lines and async jobs")
    ]
    webhook_queue_url: Annotated[
        str, Field(min_length=8, description="SQS queue of webhooks to deliver")
    ]
    reload_queue_url: Annotated[
        str, Field(min_length=8, description="SQS queue of card reloads to charge")
    ]
    images_bucket: Annotated[str, Field(min_length=3, description="S3 bucket for images")]
    catalog_file: Annotated[Path, Field(description="JSON model catalog to serve")]
    # 12 h: a URL signed with the function's temporary credentials dies with them anyway.
    url_ttl_seconds: Annotated[
        int, Field(ge=1, le=43_200, description="lifetime of presigned image URLs")
    ] = 300
    api_timeout_ms: Annotated[
        int, Field(ge=1000, description="API Gateway's integration timeout for this function")
    ] = 29_000
    deadline_margin_ms: Annotated[
        int, Field(ge=0, description="kept back from backends to store images and answer")
    ] = 3_000
    replicate_api_token_secret: Annotated[
        Unset, Field(description="Secrets Manager name or ARN of the Replicate token")
    ] = None
    replicate_api_token: Annotated[
        UnsetSecret, Field(description="the token itself: local runs only")
    ] = None
    replicate_base_url: Annotated[
        str, Field(description="Replicate's API; a local fake in tests")
    ] = "https://api.replicate.com"
    bedrock_model_arns: Annotated[
        str,
        Field(description="the Bedrock ARNs the stack grants, comma-separated (BedrockModelArns)"),
    ] = ""
    webhook_secret_name: Annotated[
        Unset,
        Field(description="Secrets Manager name or ARN of the webhook signing master secret"),
    ] = None
    webhook_secret: Annotated[
        UnsetSecret, Field(description="the master secret itself: local runs only")
    ] = None
    stripe_secret_key_secret: Annotated[
        Unset, Field(description="Secrets Manager name or ARN of the Stripe secret key")
    ] = None
    stripe_secret_key: Annotated[
        UnsetSecret, Field(description="the Stripe secret key itself: local runs only")
    ] = None
    stripe_webhook_secret_name: Annotated[
        Unset,
        Field(description="Secrets Manager name or ARN of the Stripe webhook signing secret"),
    ] = None
    stripe_webhook_secret: Annotated[
        UnsetSecret, Field(description="the webhook signing secret itself: local runs only")
    ] = None
    provenance_signing_secret: Annotated[
        Unset, Field(description="Secrets Manager ARN of the C2PA signing certificate and key")
    ] = None
    provenance_signing: Annotated[
        UnsetSecret, Field(description="the C2PA signing secret's JSON itself: local runs only")
    ] = None
    stripe_api_base: Annotated[
        Unset, Field(description="Stripe's API; the local stand-in on the local stack")
    ] = None
    card_currency: Annotated[
        str,
        Field(
            pattern="^[a-z]{3}$",
            description="the deployment's currency (ISO 4217): prices, balances, card top-ups",
        ),
    ] = "usd"
    card_top_up_minimum: Annotated[
        int, Field(ge=1, description="smallest card top-up, in currency units (micro-units)")
    ] = 5_000_000
    card_top_up_maximum: Annotated[
        int, Field(ge=1, description="largest card top-up, in currency units (micro-units)")
    ] = 1_000_000_000
    serve_preview: Annotated[
        bool,
        Field(description="serve the catalog's preview stand-in (the template: ServePreview)"),
    ] = True
    preview_instant: Annotated[
        bool, Field(description="the preview draws one flat picture per size: benchmarks")
    ] = False
    local_webhooks: Annotated[
        bool, Field(description="webhooks may go to http://localhost: the local stack only")
    ] = False
    event_bus_name: Annotated[
        str, Field(description="EventBridge bus that hears of finished batches and jobs")
    ] = "default"
    worker_margin_ms: Annotated[
        int, Field(ge=0, description="kept back from a worker's time to record a line")
    ] = 10_000
    pending_check_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=900,
            description="how long a line whose backend work is pending waits to look again",
        ),
    ] = 60
    max_response_bytes: Annotated[
        int,
        Field(
            ge=1024,
            le=MAX_BODY_BYTES,
            description="largest JSON body served; inline images beyond it get a 413",
        ),
    ] = DEFAULT_MAX_RESPONSE_BYTES

    @field_validator("card_top_up_minimum", "card_top_up_maximum", mode="before")
    @classmethod
    def _currency_units(cls, value: object) -> object:
        # The template speaks in currency units ("5.00"); money inside is micro-units.
        return parse_amount(value) if isinstance(value, str) else value

    @property
    def takes_cards(self) -> bool:
        return self.stripe_secret_key is not None or self.stripe_secret_key_secret is not None


@cache
def get_settings() -> Settings:
    return Settings()


@dataclass(frozen=True, slots=True)
class LambdaRuntime:
    """What a Lambda function is told of itself. Outside Lambda (tests, the local stack) the
    variables are absent: no init phase, no handler, the default service name."""

    # AWS_LAMBDA_INITIALIZATION_TYPE: on-demand, provisioned-concurrency or snap-start
    initialization_type: str
    # _HANDLER: the entry point this function runs ("handler.main.api.lambda_handler")
    handler: str
    # POWERTOOLS_SERVICE_NAME: the stack's name in Lambda (template.yaml), else "imagegate"
    service_name: str

    @property
    def in_lambda(self) -> bool:
        """Whether this process is a Lambda function's (set from its init phase on)."""
        return bool(self.initialization_type)


def lambda_runtime() -> LambdaRuntime:
    """Read each time (cheap): never fails, whatever the settings lack, so the logger and the
    init phase may ask for it at import."""
    return LambdaRuntime(
        initialization_type=os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", ""),
        handler=os.environ.get("_HANDLER", ""),
        service_name=os.environ.get("POWERTOOLS_SERVICE_NAME") or "imagegate",
    )


def local_s3_endpoint() -> str | None:
    """Where S3 answers when it is not AWS's (boto3's ``AWS_ENDPOINT_URL_S3``, set by the local
    stack); None in AWS."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or None


def export_environment(variables: Mapping[str, str], *, drop: tuple[str, ...] = ()) -> None:
    """Set process environment for boto3 and ``Settings`` (the local stack and the CLI)."""
    for name in drop:
        os.environ.pop(name, None)
    os.environ.update(variables)
    get_settings.cache_clear()
    get_sign_in_settings.cache_clear()
    get_moderation_settings.cache_clear()


__all__ = [
    "ModerationSettings",
    "SignInSettings",
    "get_moderation_settings",
    "get_sign_in_settings",
]
