"""Replicate models through the ``replicate`` client.

Each image is its own prediction (``num_outputs`` 1, the image's own seed), run in parallel:
every seed in a response then really reproduces its image, and one image removed by the
safety checker costs only that image. A prediction is created with ``Prefer: wait`` bounded by
the request's deadline, polled if it comes back unfinished, and cancelled when the deadline
passes, so no prediction is left running for nobody. Outputs are downloaded at once (Replicate
deletes them after an hour) and conformed to the exact size and format asked for.
"""

import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, model_validator
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from handler.backends.encoding import conform
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContentFiltered,
    ImagegateError,
)
from handler.core.ports import GeneratedImage, GenerationJob
from handler.observability import logger

FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
MAX_WAIT_SECONDS = 60  # Replicate holds a request at most this long
_RUNNING = ("starting", "processing")


class ReplicateParams(BaseModel):
    """A catalog entry's ``backend_params`` for Replicate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None  # "owner/name" of an official model
    version: str | None = None  # "owner/name:hash" or a bare version id
    inputs: Literal["flux", "sdxl"]
    extra_input: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.model is None) == (self.version is None):
            raise ValueError("give exactly one of model and version")
        return self


class PollDeferred(Exception):
    """Replicate asked us to poll later (429, 503 or 504 on a GET)."""


class _PollTransport(httpx.BaseTransport):
    """Hands GETs that Replicate defers back to the adapter at once.

    The replicate client wraps every transport in its own retrying one, which sleeps up to a
    minute between GETs, following Retry-After, and knows nothing of our deadline. Beneath it,
    this transport raises instead; the adapter polls again while the deadline allows.
    """

    DEFERRED = frozenset((429, 503, 504))

    def __init__(self, inner: httpx.BaseTransport | None = None):
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.method == "GET" and response.status_code in self.DEFERRED:
            response.close()
            raise PollDeferred(response.status_code)
        return response

    def close(self) -> None:
        self._inner.close()


class ReplicateBackend:
    def __init__(
        self,
        token: Callable[[], str],
        base_url: str,
        *,
        poll_interval: float = 0.5,
        downloads: httpx.Client | None = None,
    ):
        self._token = token
        self._base_url = base_url
        self._poll_interval = poll_interval
        self._downloads = downloads or httpx.Client(follow_redirects=True)
        self._clients: dict[str, Client] = {}

    def generate(self, job: GenerationJob, deadline: Deadline) -> list[GeneratedImage]:
        params = ReplicateParams.model_validate(job.model.backend_params)
        client = self._client()
        abandon = threading.Event()  # set when one image timed out: the rest stop too

        def one(seed: int) -> GeneratedImage | None:
            try:
                return self._one(client, params, job, seed, deadline, abandon)
            except BackendTimeout:
                abandon.set()
                raise

        with ThreadPoolExecutor(max_workers=job.n) as pool:
            futures = [pool.submit(one, seed) for seed in job.seeds]
        outcomes: list[GeneratedImage | None] = []
        errors: list[ImagegateError] = []
        for future in futures:
            error = future.exception()
            if isinstance(error, BackendTimeout):
                raise error
            if isinstance(error, ImagegateError):
                errors.append(error)
            elif error is not None:
                raise error
            else:
                outcomes.append(future.result())
        images = [image for image in outcomes if image is not None]
        if images:
            return images  # partial if some were filtered or failed: charged as delivered
        if errors:
            raise errors[0]
        raise ContentFiltered(
            "The model's safety checker removed every image. Nothing was charged.",
            param="prompt",
        )

    def _client(self) -> Client:
        token = self._token()
        if token not in self._clients:
            self._clients = {
                token: Client(
                    api_token=token,
                    base_url=self._base_url,
                    timeout=httpx.Timeout(10.0, connect=5.0),
                    transport=_PollTransport(),
                )
            }
        return self._clients[token]

    def _one(
        self,
        client: Client,
        params: ReplicateParams,
        job: GenerationJob,
        seed: int,
        deadline: Deadline,
        abandon: threading.Event,
    ) -> GeneratedImage | None:
        wait = min(MAX_WAIT_SECONDS, math.floor(deadline.remaining()))
        if wait < 1:
            raise _too_late()
        model_input = {**_inputs(params, job, seed), **params.extra_input}
        try:
            if params.model is not None:
                prediction = client.models.predictions.create(
                    model=params.model, input=model_input, wait=wait
                )
            else:
                assert params.version is not None
                prediction = client.predictions.create(
                    version=params.version.rsplit(":", 1)[-1], input=model_input, wait=wait
                )
        except ReplicateError as exc:
            raise _translate(exc) from exc
        except httpx.HTTPError as exc:
            raise BackendError("Could not reach Replicate.") from exc
        prediction = self._until_done(client, prediction, deadline, abandon)
        if prediction.status == "failed":
            raise BackendError(f"The model failed: {prediction.error or 'no reason given'}")
        if prediction.status == "canceled":
            raise BackendError("The prediction was cancelled on Replicate.")
        urls = _output_urls(prediction.output)
        if not urls:
            return None  # the safety checker removed it
        data = self._download(urls[0], deadline)
        return GeneratedImage(
            data=conform(data, job.width, job.height, job.output_format, job.output_compression),
            output_format=job.output_format,
            seed=seed,
            width=job.width,
            height=job.height,
        )

    def _until_done(
        self,
        client: Client,
        prediction: Prediction,
        deadline: Deadline,
        abandon: threading.Event,
    ) -> Prediction:
        while prediction.status in _RUNNING:
            if deadline.remaining() <= self._poll_interval or abandon.is_set():
                _cancel(client, prediction.id)
                raise _too_late()
            time.sleep(self._poll_interval)
            try:
                prediction = client.predictions.get(prediction.id)
            except PollDeferred:
                continue  # busy: ask again at the next poll, within the deadline
            except (ReplicateError, httpx.HTTPError) as exc:
                _cancel(client, prediction.id)
                raise BackendError("Lost track of the prediction on Replicate.") from exc
        return prediction

    def _download(self, url: str, deadline: Deadline) -> bytes:
        try:
            response = self._downloads.get(url, timeout=max(1.0, deadline.remaining()))
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BackendError("Could not download the image from Replicate.") from exc
        return response.content


def flux_geometry(width: int, height: int) -> tuple[str, str]:
    """Flux's ``aspect_ratio`` and ``megapixels`` closest to ``width`` x ``height``."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        across, down = (int(side) for side in ratio.split(":"))
        return abs(math.log(across / down) - wanted)

    megapixels = "0.25" if width * height <= 512 * 512 else "1"
    return min(FLUX_RATIOS, key=distance), megapixels


def _inputs(params: ReplicateParams, job: GenerationJob, seed: int) -> dict[str, Any]:
    if params.inputs == "flux":
        aspect_ratio, megapixels = flux_geometry(job.width, job.height)
        flux: dict[str, Any] = {
            "prompt": job.prompt,
            "aspect_ratio": aspect_ratio,
            "megapixels": megapixels,
            "num_outputs": 1,
            "seed": seed,
            "output_format": "jpg" if job.output_format == "jpeg" else job.output_format,
            "output_quality": job.output_compression,
            "disable_safety_checker": False,
        }
        if job.steps is not None:
            flux["num_inference_steps"] = job.steps
        return flux
    sdxl: dict[str, Any] = {
        "prompt": job.prompt,
        "width": job.width,
        "height": job.height,
        "num_outputs": 1,
        "seed": seed,
        "disable_safety_checker": False,
        **job.diffusion_options(),
    }
    return sdxl


def _output_urls(output: Any) -> list[str]:
    if output is None:
        return []
    items = output if isinstance(output, list) else [output]
    return [str(item) for item in items if item]


def _cancel(client: Client, prediction_id: str) -> None:
    try:
        client.predictions.cancel(prediction_id)
    except (ReplicateError, httpx.HTTPError) as exc:
        # Replicate ends unattended predictions at its own timeout; say so, for the bill.
        logger.warning("could not cancel a prediction", prediction_id=prediction_id, error=str(exc))


def _too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline; its generation was cancelled "
        "and nothing was charged."
    )


def _translate(exc: ReplicateError) -> BackendError:
    status = exc.status or 0
    detail = exc.detail or exc.title or "no detail"
    if status == 429:
        wait = re.search(r"(\d+)\s*s", detail)
        return BackendUnavailable(
            "The model's provider is throttling requests; retry shortly.",
            retry_after=int(wait[1]) if wait else 1,
        )
    if status >= 500:
        return BackendUnavailable(f"The model's provider is unavailable ({status}).")
    if status in (401, 403):
        return BackendError("The model's provider refused this deployment's API token.")
    if status == 404:
        return BackendError("The model was not found at its provider: check the catalog.")
    # 422 and the rest: no prediction was created, so nothing ran.
    return BackendError(f"The model's provider refused the request: {detail}", should_retry=False)
