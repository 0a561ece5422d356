"""The Bedrock backend: one ``InvokeModel`` per image, in parallel, bounded by the deadline."""

import json
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from handler.aws.errors import error_code
from handler.backends.bedrock import amazon, stability
from handler.backends.bedrock.client import runtime_client
from handler.backends.bedrock.errors import (
    UNUSABLE,
    Filtered,
    ModelTimedOut,
    invocation_errors,
    too_late,
)
from handler.backends.bedrock.grants import Grants, Target
from handler.backends.bedrock.params import BedrockParams
from handler.backends.encoding import conform, encoded_again
from handler.backends.parallel import gather, worst
from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendNotConfigured, BackendTimeout, ContentFiltered
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.client import BedrockRuntimeClient

# Each family's ``body(spec, params)``, ``seeded(body, seed)`` and ``image(answer, seed)``.
FAMILIES: dict[str, ModuleType] = {"stability": stability, "amazon": amazon}
# A model this account may not use (no access granted, retired) is not offered again for this
# long: GET /v1/models stops listing it.
LOOK_AGAIN_SECONDS = 300


class BedrockBackend:
    def __init__(
        self,
        grants: Grants,
        client: Callable[[str, int], "BedrockRuntimeClient"] = runtime_client,
        now: Callable[[], float] = time.time,
    ):
        self._grants = grants
        self._client = client
        self._now = now
        # (model id, region) → when Bedrock said it cannot be used, and what it said
        self._unusable: dict[tuple[str, str | None], tuple[float, BackendNotConfigured]] = {}
        self._lock = threading.Lock()

    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        """Served while the stack grants its ARN, and Bedrock has not said (in the last
        LOOK_AGAIN_SECONDS) that it cannot be used."""
        params = BedrockParams.model_validate(model.backend_params)
        model_id = params.model_id
        if self._grants.target(model_id, params.region) is None:
            return _not_granted(model_id, params.region)
        with self._lock:
            since, said = self._unusable.get((model_id, params.region), (None, None))
        if since is not None and self._now() - since < LOOK_AGAIN_SECONDS:
            return said
        return None

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        params = BedrockParams.model_validate(spec.model.backend_params)
        target = self._grants.target(params.model_id, params.region)
        if target is None:
            raise _not_granted(params.model_id, params.region)
        family = FAMILIES[params.family]
        # The body made once (its inputs encoded once, and checked before the first image
        # is paid for), then one per image with its seed.
        request = family.body(spec, params)
        bodies = [(seed, json.dumps(family.seeded(request, seed))) for seed in spec.seeds]
        seconds = math.floor(deadline.remaining())
        if seconds < 1:
            raise too_late()
        client = self._client(target.region, seconds)
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            calls = [
                pool.submit(self._one, client, target, family, spec, seed, body)
                for seed, body in bodies
            ]
            outcomes, errors = gather(calls)
        for error in filter(_unusable, errors):
            said = error if isinstance(error, BackendNotConfigured) else None
            with self._lock:
                self._unusable[params.model_id, params.region] = (
                    self._now(),
                    said or BackendNotConfigured(error.message),
                )
        images = [image for image in outcomes if image is not None]
        if images:
            return images  # partial if some were filtered or failed: charged as delivered
        if errors:
            error = worst(errors)
            if isinstance(error, ModelTimedOut):  # every one of them: the request timed out
                raise BackendTimeout(error.message) from error
            raise error
        raise ContentFiltered(
            "Bedrock's content filters removed every image. Nothing was charged.", param="prompt"
        )

    def _one(
        self,
        client: "BedrockRuntimeClient",
        target: Target,
        family: ModuleType,
        spec: GenerationSpec,
        seed: int,
        body: str,
    ) -> GeneratedImage | None:
        try:
            with invocation_errors(target):
                response = client.invoke_model(
                    modelId=target.model_id,
                    body=body,
                    contentType="application/json",
                    accept="application/json",
                )
                answer = json.loads(response["body"].read())
            data, seed = family.image(answer, seed)
        except Filtered as filtered:
            logger.info("image filtered", model=spec.model.id, seed=seed, reason=str(filtered))
            return None
        except (ValueError, TypeError) as exc:  # not JSON, not base64, a seed not a number
            raise BackendError("Bedrock answered something that is not an image.") from exc
        image = conform(data, spec.width, spec.height, spec.output_format, spec.output_compression)
        return GeneratedImage(
            image,
            spec.output_format,
            seed,
            spec.width,
            spec.height,
            original=encoded_again(data, image),
        )


def _not_granted(model_id: str, region: str | None = None) -> BackendNotConfigured:
    where = f" in {region}" if region else ""
    return BackendNotConfigured(
        f"This deployment grants no Bedrock ARN for {model_id}{where}: list it in the stack's "
        "BedrockModelArns parameter."
    )


def _unusable(error: BackendError) -> bool:
    """Bedrock said this account cannot use the model at all (no access, no such model)."""
    cause = error.__cause__
    return isinstance(cause, ClientError) and error_code(cause) in UNUSABLE
