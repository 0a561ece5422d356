"""How each backend is made from ``Settings``. A backend's module (and its SDK) is imported
when the catalog first needs it, never otherwise."""

from collections.abc import Callable
from functools import partial

from handler.aws.secrets import configured_secret
from handler.config import get_settings
from handler.core.errors import BackendNotConfigured
from handler.ports.backends import InferenceBackend
from handler.ports.staging import AsyncStore


def preview() -> InferenceBackend:
    from handler.backends.preview import PreviewBackend

    return PreviewBackend(instant=get_settings().preview_instant)


def replicate() -> InferenceBackend:
    from handler.backends.replicate import ReplicateBackend

    def token() -> str:  # read on use (Powertools caches it): it may be rotated
        settings = get_settings()
        missing = BackendNotConfigured(
            "This deployment has no Replicate API token, so its Replicate models cannot run."
        )
        return configured_secret(
            settings.replicate_api_token, settings.replicate_api_token_secret, missing
        )

    return ReplicateBackend(token, get_settings().replicate_base_url)


def bedrock() -> InferenceBackend:
    from handler.backends.bedrock import BedrockBackend, Grants

    return BedrockBackend(Grants(get_settings().bedrock_model_arns))


def sagemaker(async_store: Callable[[], AsyncStore]) -> InferenceBackend:
    from handler.backends.sagemaker import SageMakerBackend

    return SageMakerBackend(store=async_store)


def backend_makers(
    async_store: Callable[[], AsyncStore],
) -> dict[str, Callable[[], InferenceBackend]]:
    return {
        "bedrock": bedrock,
        "preview": preview,
        "replicate": replicate,
        "sagemaker": partial(sagemaker, async_store),
    }
