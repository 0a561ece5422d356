"""Previews of the images a pipeline is denoising, streamed while it runs.

Under TorchServe (SageMaker's PyTorch inference container) a handler can send part of its
answer before it returns: ``send_intermediate_predict_response`` writes a chunk of the HTTP
response, which SageMaker passes on as a payload part of ``InvokeEndpointWithResponseStream``.
At chosen steps the pipeline's current estimate of the finished image (the scheduler's
``pred_original_sample``, x0; the latents where a scheduler gives none) is decoded through
the VAE and sent as one JSON line per image:

    {"partial_image": {"b64_json": ..., "index": <image of the call>,
                       "partial_image_index": <0, 1, ...>}}

A preview the pipeline's safety checker flags is not sent. Elsewhere (the Hugging Face
container's model server, a test calling ``predict_fn`` without a context) there is no way to
send a chunk, and the answer comes alone, as it does to a buffered invocation.
"""

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch

Send = Callable[[bytes], None]
Encode = Callable[[Any], str]  # a PIL image to base64 in the request's format


def streaming(
    pipeline: Any, partial_images: int, encode: Encode, context: Any
) -> AbstractContextManager[dict[str, Any]]:
    """The pipeline's extra arguments for a run that sends ``partial_images`` previews of
    each image: none where none can be sent."""
    send = sender(context) if partial_images else None
    if send is None:
        return nullcontext({})
    return Previews(pipeline, partial_images, encode, send).watching()


def sender(context: Any) -> Send | None:
    """How to send a chunk of this request's answer now, or None where it cannot be done.

    TorchServe may batch requests into one call; a preview belongs to one of them, so only
    a call serving one request streams."""
    request_ids = getattr(context, "request_ids", None)
    if not request_ids or len(request_ids) != 1:  # no context, or a batch
        return None
    try:
        from ts.handler_utils.utils import send_intermediate_predict_response
    except ImportError:  # not TorchServe
        return None

    def send(chunk: bytes) -> None:
        send_intermediate_predict_response(
            [chunk], context.request_ids, "Intermediate Prediction success", 200, context
        )

    return send


def preview_steps(steps: int, partial_images: int) -> list[int]:
    """After how many of ``steps`` denoising steps each preview is decoded: spread evenly,
    never after the last (that is the image itself), so a short run makes fewer."""
    chosen = {(k * steps) // (partial_images + 1) for k in range(1, partial_images + 1)}
    return sorted(done for done in chosen if 1 <= done < steps)


class Previews:
    """A pipeline run's ``callback_on_step_end`` that decodes and sends its previews."""

    def __init__(self, pipeline: Any, partial_images: int, encode: Encode, send: Send):
        self._pipeline = pipeline
        self._partial_images = partial_images
        self._encode = encode
        self._send = send
        self._denoised: Any = None  # the scheduler's x0 estimate at its latest step

    @contextmanager
    def watching(self) -> Iterator[dict[str, Any]]:
        """The pipeline's arguments for the run inside, its scheduler's estimate of x0
        recorded at each step meanwhile."""
        scheduler = self._pipeline.scheduler
        step = scheduler.step

        @functools.wraps(step)  # the pipeline reads step's signature for eta and generator
        def recording(*args: Any, **kwargs: Any) -> Any:
            result = step(*args, **kwargs)
            if isinstance(result, tuple):
                self._denoised = result[1] if len(result) > 1 else None
            else:
                self._denoised = getattr(result, "pred_original_sample", None)
            return result

        scheduler.step = recording
        try:
            yield {"callback_on_step_end": self, "callback_on_step_end_tensor_inputs": ["latents"]}
        finally:
            del scheduler.step  # the class's own again

    def __call__(
        self, pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        chosen = preview_steps(pipeline.num_timesteps, self._partial_images)
        if step + 1 in chosen:
            estimate = self._denoised if self._denoised is not None else tensors["latents"]
            self._send_preview(pipeline, estimate, chosen.index(step + 1))
        return {}

    @torch.no_grad()
    def _send_preview(self, pipeline: Any, estimate: Any, partial_index: int) -> None:
        vae = pipeline.vae
        decoded = vae.decode(estimate.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)
        checker = getattr(pipeline, "run_safety_checker", None)  # not every pipeline has one
        pictures, flagged = (
            checker(decoded[0], pipeline.device, vae.dtype) if checker else (decoded[0], None)
        )
        flagged = flagged or [False] * len(pictures)
        images = pipeline.image_processor.postprocess(
            pictures, output_type="pil", do_denormalize=[not unsafe for unsafe in flagged]
        )
        for index, (image, unsafe) in enumerate(zip(images, flagged, strict=True)):
            if not unsafe:
                partial = {"b64_json": self._encode(image), "index": index}
                line = {"partial_image": {**partial, "partial_image_index": partial_index}}
                self._send(json.dumps(line).encode() + b"\n")
