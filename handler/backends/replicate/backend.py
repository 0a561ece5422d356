"""The Replicate backend: one prediction per image, created, awaited within the deadline,
cancelled past it, its output downloaded and conformed."""

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from handler.backends.encoding import conform, encoded_again
from handler.backends.parallel import gather, worst
from handler.backends.replicate.errors import busy, filtered, too_late, translate
from handler.backends.replicate.inputs import (
    ReplicateParams,
    file_inputs,
    model_inputs,
    output_urls,
)
from handler.backends.replicate.transport import DeadlineTransport, Deferred, bound_to
from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendNotConfigured,
    BackendTimeout,
    ContentFiltered,
    StorageError,
)
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec
from handler.observability import logger

MAX_WAIT_SECONDS = 60  # Replicate holds a request at most this long
CREATE_MARGIN_SECONDS = 2
CANCEL_ATTEMPTS = 3
_RUNNING = ("starting", "processing")


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

    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        """Served while the deployment has a Replicate token."""
        try:
            self._token()
        except BackendNotConfigured as missing:
            return missing
        except StorageError:  # Secrets Manager unreachable now: the model is still offered
            logger.exception("Replicate token not read", model=model.id)
        return None

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        params = ReplicateParams.model_validate(spec.model.backend_params)
        client = self._client()
        files = file_inputs(client, spec)  # once for all the predictions that use them
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
                transport=DeadlineTransport(),
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
        bound_to(deadline)
        # Replicate may hold the call a moment past the wait: leave room to hear its answer.
        wait = min(MAX_WAIT_SECONDS, math.floor(deadline.remaining() - CREATE_MARGIN_SECONDS))
        if wait < 1:
            raise too_late()
        model_input = {**model_inputs(params, spec, seed, files), **params.extra_input}
        prediction = _create(client, params, model_input, wait)
        prediction = self._until_done(client, prediction, deadline, abandon)
        if prediction.status == "failed":
            if filtered(prediction.error):
                return None
            raise BackendError(f"The model failed: {prediction.error or 'no reason given'}")
        if prediction.status == "canceled":
            raise BackendError("The prediction was cancelled on Replicate.")
        urls = output_urls(prediction.output)
        if not urls:
            return None  # the safety checker removed it
        sent = self._download(urls[0], deadline)
        data = conform(sent, spec.width, spec.height, spec.output_format, spec.output_compression)
        return GeneratedImage(
            data=data,
            output_format=spec.output_format,
            seed=seed,
            width=spec.width,
            height=spec.height,
            billed_seconds=_predict_time(prediction),
            original=encoded_again(sent, data),
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
                raise too_late()
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
        raise busy(deferred) from deferred
    except ReplicateError as exc:
        raise translate(exc) from exc
    except httpx.HTTPError as exc:
        # The prediction may exist without our knowing its id: it cannot be cancelled,
        # and a retry could run it twice.
        logger.warning("prediction create failed in flight", error=repr(exc))
        raise BackendError(
            "Lost the connection to the model's provider.", should_retry=False
        ) from exc


def _predict_time(prediction: Prediction) -> float | None:
    """The seconds Replicate billed the prediction, if it says."""
    seconds = (prediction.metrics or {}).get("predict_time")
    return float(seconds) if isinstance(seconds, int | float) else None


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
