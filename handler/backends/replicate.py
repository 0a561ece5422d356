"""Replicate models through the ``replicate`` client.

Each image is its own prediction (``num_outputs`` 1, the image's own seed), run in parallel:
every seed in a response then really reproduces its image, and one image removed by the
safety checker costs only that image. A prediction is created with ``Prefer: wait`` bounded by
the request's deadline, polled if it comes back unfinished, and cancelled when the deadline
passes, so no prediction is left running for nobody. Outputs are downloaded at once (Replicate
deletes them after an hour) and conformed to the exact size and format asked for.
"""

import base64
import io
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, model_validator
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from handler.backends.encoding import conform, edit_region_png
from handler.backends.parallel import gather, worst
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendRefused,
    BackendTimeout,
    BackendUnavailable,
    ContentFiltered,
)
from handler.core.ports import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.observability import logger

FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
MAX_WAIT_SECONDS = 60  # Replicate holds a request at most this long
DATA_URL_LIMIT = 1_000_000  # Replicate takes files inline up to about this size
CREATE_MARGIN_SECONDS = 2
CANCEL_SECONDS = 2.0
CANCEL_ATTEMPTS = 3
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


class Deferred(Exception):
    """Replicate asked to be called again later (429 or 503; 504 too on a GET)."""

    def __init__(self, status: int, retry_after: int):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


# The deadline of the request the current thread works for; the transport bounds each call.
_deadline: ContextVar[Deadline | None] = ContextVar("replicate_deadline", default=None)


class _DeadlineTransport(httpx.BaseTransport):
    """What sits under the replicate client's own transport.

    That client wraps every transport in a retrying one that sleeps up to a minute between
    GETs, following Retry-After, blind to our deadline. Beneath it, this transport
    - raises ``Deferred`` (with Retry-After) instead of returning a throttled answer, so the
      adapter decides: poll again within the deadline, or tell the client when to retry;
    - bounds every poll by what is left of the deadline, and gives a cancel a fixed allowance
      even when the deadline has passed (a cancel is what stops the GPU).
    """

    def __init__(self, inner: httpx.BaseTransport | None = None):
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = _deadline.get()
        if request.url.path.endswith("/cancel"):
            request.extensions["timeout"] = _timeout(CANCEL_SECONDS)
        elif request.method == "GET" and deadline is not None:
            request.extensions["timeout"] = _timeout(max(0.5, deadline.remaining()))
        response = self._inner.handle_request(request)
        deferred = (429, 503, 504) if request.method == "GET" else (429, 503)
        if response.status_code in deferred:
            header = response.headers.get("retry-after", "").strip()
            response.close()
            raise Deferred(response.status_code, int(header) if header.isdigit() else 1)
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
        self._current: tuple[str, Client] | None = None  # the token and its client

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        params = ReplicateParams.model_validate(spec.model.backend_params)
        client = self._client()
        files = _file_inputs(client, spec)  # once for all the predictions that use them
        abandon = threading.Event()  # set when one image timed out: the rest stop too

        def one(seed: int) -> GeneratedImage | None:
            try:
                return self._one(client, params, spec, seed, files, deadline, abandon)
            except BackendTimeout:
                abandon.set()
                raise

        with ThreadPoolExecutor(max_workers=spec.n) as pool:
            outcomes, errors = gather([pool.submit(one, seed) for seed in spec.seeds])
        images = [image for image in outcomes if image is not None]
        if images:
            return images  # partial if some were filtered or failed: charged as delivered
        if errors:
            raise worst(errors)
        raise ContentFiltered(
            "The model's safety checker removed every image. Nothing was charged.",
            param="prompt",
        )

    def _client(self) -> Client:
        token = self._token()  # cached by Powertools, and may rotate
        if self._current is None or self._current[0] != token:
            client = Client(
                api_token=token,
                base_url=self._base_url,
                timeout=httpx.Timeout(10.0, connect=5.0),
                transport=_DeadlineTransport(),
            )
            self._current = (token, client)
        return self._current[1]

    def _one(
        self,
        client: Client,
        params: ReplicateParams,
        spec: GenerationSpec,
        seed: int,
        files: dict[str, str],
        deadline: Deadline,
        abandon: threading.Event,
    ) -> GeneratedImage | None:
        _deadline.set(deadline)
        # Replicate may hold the call a moment past the wait: leave room to hear its answer.
        wait = min(MAX_WAIT_SECONDS, math.floor(deadline.remaining() - CREATE_MARGIN_SECONDS))
        if wait < 1:
            raise _too_late()
        model_input = {**_inputs(params, spec, seed, files), **params.extra_input}
        prediction = self._create(client, params, model_input, wait)
        prediction = self._until_done(client, prediction, deadline, abandon)
        if prediction.status == "failed":
            if _filtered(prediction.error):
                return None
            raise BackendError(f"The model failed: {prediction.error or 'no reason given'}")
        if prediction.status == "canceled":
            raise BackendError("The prediction was cancelled on Replicate.")
        urls = _output_urls(prediction.output)
        if not urls:
            return None  # the safety checker removed it
        data = self._download(urls[0], deadline)
        return GeneratedImage(
            data=conform(
                data, spec.width, spec.height, spec.output_format, spec.output_compression
            ),
            output_format=spec.output_format,
            seed=seed,
            width=spec.width,
            height=spec.height,
        )

    @staticmethod
    def _create(
        client: Client, params: ReplicateParams, model_input: dict[str, Any], wait: int
    ) -> Prediction:
        try:
            if params.model is not None:
                return client.models.predictions.create(
                    model=params.model, input=model_input, wait=wait
                )
            assert params.version is not None
            return client.predictions.create(
                version=params.version.rsplit(":", 1)[-1], input=model_input, wait=wait
            )
        except Deferred as deferred:  # nothing was created
            raise BackendUnavailable(
                "The model's provider is busy; retry shortly.", retry_after=deferred.retry_after
            ) from deferred
        except ReplicateError as exc:
            raise _translate(exc) from exc
        except httpx.HTTPError as exc:
            # The prediction may exist without our knowing its id: it cannot be cancelled,
            # and a retry could run it twice.
            logger.warning("prediction create failed in flight", error=repr(exc))
            raise BackendError(
                "Lost the connection to the model's provider.", should_retry=False
            ) from exc

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
            except Deferred:
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


def _file_inputs(client: Client, spec: GenerationSpec) -> dict[str, str]:
    """The request's input image and mask as Replicate takes files: small ones inline as data
    URLs, larger ones uploaded to its files API first."""
    files = {}
    if spec.inputs.images:
        first = spec.inputs.images[0]
        files["image"] = _file(client, first.data, first.format)
    if spec.inputs.mask is not None:
        # SDXL repaints the mask's white, whichever convention the client's mask used.
        files["mask"] = _file(client, edit_region_png(spec.inputs.mask.data), "png")
    return files


def _file(client: Client, data: bytes, image_format: str) -> str:
    content_type = f"image/{image_format}"
    if len(data) <= DATA_URL_LIMIT:
        return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    try:
        uploaded = client.files.create(
            io.BytesIO(data), filename=f"input.{image_format}", content_type=content_type
        )
    except Deferred as deferred:
        raise BackendUnavailable(
            "The model's provider is busy; retry shortly.", retry_after=deferred.retry_after
        ) from deferred
    except (ReplicateError, httpx.HTTPError) as exc:
        raise BackendUnavailable("Could not upload the input image to the provider.") from exc
    return uploaded.urls["get"]


def _inputs(
    params: ReplicateParams, spec: GenerationSpec, seed: int, files: dict[str, str]
) -> dict[str, Any]:
    if params.inputs == "flux":
        aspect_ratio, megapixels = flux_geometry(spec.width, spec.height)
        flux: dict[str, Any] = {
            "prompt": spec.prompt,
            "aspect_ratio": aspect_ratio,
            "megapixels": megapixels,
            "num_outputs": 1,
            "seed": seed,
            "output_format": "jpg" if spec.output_format == "jpeg" else spec.output_format,
            "output_quality": spec.output_compression,
            "disable_safety_checker": False,
        }
        if spec.steps is not None:
            flux["num_inference_steps"] = spec.steps
        return flux
    sdxl: dict[str, Any] = {
        "prompt": spec.prompt,
        "width": spec.width,
        "height": spec.height,
        "num_outputs": 1,
        "seed": seed,
        "disable_safety_checker": False,
        **spec.diffusion_options(),
        **files,
    }
    if files and spec.strength is not None:
        sdxl["prompt_strength"] = spec.strength
    return sdxl


def _output_urls(output: Any) -> list[str]:
    if output is None:
        return []
    items = output if isinstance(output, list) else [output]
    return [str(item) for item in items if item]


def _cancel(client: Client, prediction_id: str) -> None:
    """Stop a prediction; a few tries, since a cancel that fails leaves a GPU running."""
    for attempt in range(CANCEL_ATTEMPTS):
        try:
            client.predictions.cancel(prediction_id)
        except (Deferred, ReplicateError, httpx.HTTPError) as exc:
            if attempt + 1 == CANCEL_ATTEMPTS:
                # Replicate ends it at its own timeout; say so, for whoever reads the bill.
                logger.warning(
                    "could not cancel a prediction", prediction_id=prediction_id, error=repr(exc)
                )
            else:
                time.sleep(0.2 * (attempt + 1))
        else:
            return


def _filtered(error: str | None) -> bool:
    # Flux's and SDXL's cog code fail the prediction when the safety checker removes every
    # image; Replicate gives that no error code of its own, only this wording.
    return error is not None and "nsfw" in error.lower()


def _timeout(seconds: float) -> dict[str, float]:
    return {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}


def _too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline; its generation was cancelled "
        "and nothing was charged."
    )


def _translate(exc: ReplicateError) -> BackendError:
    status = exc.status or 0
    detail = exc.detail or exc.title or "no detail"
    if status in (401, 403):
        return BackendRefused("The model's provider refused this deployment's API token.")
    if status == 404:
        return BackendRefused("The model was not found at its provider: check the catalog.")
    if status >= 500:
        # Unlike 503 (the transport's), an error here may come after the prediction began.
        return BackendError(f"The model's provider failed ({status}).", should_retry=False)
    # 422 and the rest: no prediction was created, so nothing ran.
    return BackendRefused(f"The model's provider refused the request: {detail}")
