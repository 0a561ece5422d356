"""Builds the concrete adapters from ``Settings``, once per process.

Routes reach these through ``handler.api.deps``; tests swap them with
``app.dependency_overrides`` or by pointing the settings at local fakes and clearing caches.
"""

from functools import cache

from handler.backends.preview import PreviewBackend
from handler.backends.replicate import ReplicateBackend
from handler.backends.sagemaker import SageMakerBackend
from handler.config import get_settings
from handler.core.billing import Billing
from handler.core.catalog import Catalog, load_catalog
from handler.core.errors import BackendUnavailable
from handler.core.generation import GenerationService
from handler.core.ports import Idempotency, ImageStore, InferenceBackend, KeyStore, Ledger
from handler.stores.idempotency import DynamoDBIdempotency
from handler.stores.images import S3ImageStore
from handler.stores.keys import DynamoDBKeyStore
from handler.stores.ledger import DynamoDBLedger
from handler.stores.secrets import read_secret


@cache
def catalog() -> Catalog:
    return load_catalog(get_settings().catalog_file)


@cache
def key_store() -> KeyStore:
    return DynamoDBKeyStore(get_settings().keys_table)


@cache
def ledger() -> Ledger:
    settings = get_settings()
    return DynamoDBLedger(settings.keys_table, settings.usage_table)


@cache
def billing() -> Billing:
    return Billing(ledger())


@cache
def idempotency() -> Idempotency:
    return DynamoDBIdempotency(get_settings().idempotency_table)


@cache
def image_store() -> ImageStore:
    settings = get_settings()
    return S3ImageStore(settings.images_bucket, settings.url_ttl_seconds)


@cache
def backends() -> dict[str, InferenceBackend]:
    return {
        "preview": PreviewBackend(),
        "replicate": ReplicateBackend(replicate_token, get_settings().replicate_base_url),
        "sagemaker": SageMakerBackend(),
    }


def replicate_token() -> str:
    settings = get_settings()
    if settings.replicate_api_token is not None:
        return settings.replicate_api_token.get_secret_value()
    if settings.replicate_api_token_secret:
        return read_secret(settings.replicate_api_token_secret)
    raise BackendUnavailable(
        "This deployment has no Replicate API token, so its Replicate models cannot run.",
        code="backend_not_configured",
        should_retry=False,
    )


@cache
def generation_service() -> GenerationService:
    return GenerationService(
        catalog=catalog(),
        backends=backends(),
        images=image_store(),
        keys=key_store(),
        billing=billing(),
        idempotency=idempotency(),
        max_response_bytes=get_settings().max_response_bytes,
    )


def reset() -> None:
    """Forget every cached object (tests, and the local stack after it sets the env)."""
    from handler.backends.sagemaker import forget_clients
    from handler.stores.clients import cloudformation_client, dynamodb_client, s3_client

    for factory in (
        catalog,
        key_store,
        ledger,
        billing,
        idempotency,
        image_store,
        backends,
        generation_service,
        get_settings,
        dynamodb_client,
        s3_client,
        cloudformation_client,
    ):
        factory.cache_clear()
    forget_clients()
