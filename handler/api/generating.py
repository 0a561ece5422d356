"""How the two image routes answer: generate now, or queue the work and answer 202 and the job
(``Prefer: respond-async`` or ``"async": true``)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from handler.api.middleware import public_path
from handler.api.replays import mark_replayed
from handler.api.schemas import ImageJob
from handler.api.work_deps import GenerationNeeds, generation_needs
from handler.core.errors import InvalidRequest
from handler.core.image_input import ImageSources, data_url
from handler.core.schemas import GenerationRequest
from handler.generation.streaming import MEDIA_TYPE, EventKind
from handler.observability import logger

T = TypeVar("T")


@dataclass
class GenerationCall:
    """One call of a generating route, with what it needs."""

    request: Request
    needs: GenerationNeeds

    async def answer(
        self,
        body: GenerationRequest,
        sources: ImageSources | None = None,
        kind: EventKind = "image_generation",
    ) -> Response:
        """``sources``: input images that came as files (else the body's data URLs); ``kind``:
        what its stream's events are called, if it streams."""
        if bool(body.async_) or "respond-async" in self.request.headers.get("prefer", "").lower():
            if sources is not None and any(isinstance(image, bytes) for image in sources.images):
                # Files travel in the job's queue message as the data URLs JSON would send.
                body = body.model_copy(update=as_data_urls(sources))
            return await self._queue(body)
        if body.webhook_url is not None:
            raise InvalidRequest(
                "webhook_url applies to async requests (Prefer: respond-async).",
                param="webhook_url",
            )
        if body.stream:
            return await self._stream(body, sources, kind)
        return await self._generate(body, sources)

    async def _stream(
        self, body: GenerationRequest, sources: ImageSources | None, kind: EventKind
    ) -> Response:
        """Checked and paid for now; the events are made as the body is sent."""
        if "idempotency-key" in self.request.headers:
            raise InvalidRequest(
                "Idempotency-Key replays a buffered answer; a stream is not kept. Send one "
                "without the other.",
                param="Idempotency-Key",
            )
        stream = await self._blocking(
            self.needs.service.open_stream,
            body,
            credentials=self.needs.credentials,
            request_id=self.needs.request_id,
            deadline=self.needs.deadline,
            kind=kind,
            sources=sources,
            meter=self.needs.meter,
        )
        logger.info(
            "image stream opened",
            request_id=self.needs.request_id,
            key_id=self.needs.credentials.key_id,
            model=stream.spec.model.id,
            size=stream.spec.size,
            n=stream.spec.n,
            partial_images=stream.spec.partial_images,
            placement=self.needs.meter.placement,
        )
        # No buffering on the way (a proxy that honours it), and no transformation.
        headers = {"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"}
        return StreamingResponse(stream.events(), media_type=MEDIA_TYPE, headers=headers)

    async def _generate(self, body: GenerationRequest, sources: ImageSources | None) -> Response:
        """Run it (it blocks on backends and S3) and answer the images."""
        result = await self._blocking(
            self.needs.service.generate,
            body,
            credentials=self.needs.credentials,
            request_id=self.needs.request_id,
            deadline=self.needs.deadline,
            sources=sources,
            meter=self.needs.meter,
            idempotency_key=self.request.headers.get("idempotency-key"),
        )
        logger.info(
            "images generated",
            request_id=self.needs.request_id,
            key_id=self.needs.credentials.key_id,
            cost=result.cost,
            model=result.model,
            size=result.size,
            n=len(result.data),
            response_format=body.response_format,
            placement=self.needs.meter.placement,
        )
        # Serialised by pydantic directly: a re-validation of megabytes of base64 buys nothing.
        response = Response(
            result.model_dump_json(exclude_none=True), media_type="application/json"
        )
        # The first response to this Idempotency-Key, replayed: it has its own id.
        mark_replayed(response, result.id != self.needs.request_id)
        return response

    async def _blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Off the event loop, in a worker thread; but not in Lambda (Mangum's scope): there
        the loop serves this one invocation alone, and a thread would only add a hand-off."""
        if "aws.event" in self.request.scope:
            return function(*args, **kwargs)
        return await run_in_threadpool(function, *args, **kwargs)

    async def _queue(self, body: GenerationRequest) -> Response:
        """202, the job, and where to poll it."""
        job = await self._blocking(
            self.needs.jobs.submit,
            body,
            self.needs.credentials,
            deadline=self.needs.deadline,
            meter=self.needs.meter,
            idempotency_key=self.request.headers.get("idempotency-key"),
        )
        logger.info("job queued", job_id=job["id"], key_id=self.needs.credentials.key_id)
        return Response(
            ImageJob.model_validate(job).model_dump_json(),
            status_code=202,
            media_type="application/json",
            headers={
                "location": public_path(self.request, "get_image_job", job_id=job["id"]),
                "preference-applied": "respond-async",
            },
        )


def as_data_urls(sources: ImageSources) -> dict[str, Any]:
    """The request fields that carry a form's files as data URLs."""
    images = [data_url(image) for image in sources.images]
    return {
        "image": images if sources.image_param == "image[]" else images[0],
        "mask": None if sources.mask is None else data_url(sources.mask),
    }


async def generation_call(request: Request) -> GenerationCall:
    """What a generating route needs, got at once: one dependency for FastAPI to solve
    instead of seven, on the path whose every request is paid for."""
    return GenerationCall(request, await generation_needs(request))


GenerationCallDep = Annotated[GenerationCall, Depends(generation_call)]
