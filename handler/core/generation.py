"""The generation service: one request in, paid for, stored or inline images out.

The HTTP API, async jobs and batch lines all come through ``GenerationService.generate``.
"""

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from handler.core.auth import authenticate
from handler.core.batches import (
    Batch,
    JobStore,
    LineResult,
    ResultRecorded,
    WorkItem,
    describe_job,
    error_result,
    line_request_id,
    retryable,
)
from handler.core.billing import Billing, Meter, Reservation, rate_window
from handler.core.catalog import Catalog
from handler.core.deadline import Deadline
from handler.core.delivery import Delivery
from handler.core.errors import (
    BackendError,
    ImagegateError,
    InvalidRequest,
    StorageError,
    WorkPending,
)
from handler.core.image_input import ImageSources, from_request
from handler.core.jobs import build_job
from handler.core.ports import (
    Credentials,
    GeneratedImage,
    GenerationJob,
    Idempotency,
    InferenceBackend,
    KeyStore,
    Owner,
)
from handler.core.schemas import (
    GenerationRequest,
    ImagesResponse,
    StoredImages,
    parse_request,
)
from handler.observability import logger

MAX_IDEMPOTENCY_KEY_CHARS = 255

Answer = TypeVar("Answer", ImagesResponse, StoredImages)


@dataclass(frozen=True, slots=True)
class GenerationService:
    catalog: Catalog
    backends: Mapping[str, InferenceBackend]
    delivery: Delivery
    keys: KeyStore
    billing: Billing
    idempotency: Idempotency
    jobs: JobStore
    clock: Callable[[], float] = time.time

    def generate(
        self,
        request: GenerationRequest,
        *,
        credentials: Credentials,
        request_id: str,
        deadline: Deadline,
        sources: ImageSources | None = None,
        meter: Meter | None = None,
        idempotency_key: str | None = None,
    ) -> ImagesResponse:
        """Validate, reserve the price, generate, deliver, settle what was delivered.

        ``sources``: images that came as files; otherwise the request's data URLs. With an
        ``idempotency_key``, a retry of the same request replays the first success (its images
        kept in S3 either way, its URLs signed afresh) instead of paying again.
        """
        sources = from_request(request) if sources is None else sources
        meter = meter or Meter()
        if idempotency_key is None:
            return self._charged(
                request, credentials, request_id, deadline, sources, meter, self._deliver
            )
        scope = idempotency_scope("generation", credentials, idempotency_key)

        def work() -> dict[str, Any]:
            kept = self._charged(
                request, credentials, request_id, deadline, sources, meter, self._keep
            )
            return kept.model_dump(mode="json", exclude_none=True)

        kept = self.idempotency.once(scope, fingerprint(request, sources), work, deadline)
        if meter.window is None:  # a replay: nothing ran, so check the key is still in force
            now = self.clock()
            meter.window = rate_window(authenticate(credentials, self.keys, now=now), now)
        return self.delivery.answer(StoredImages.model_validate(kept), request.response_format)

    def fulfil(
        self, item: WorkItem, *, owner: Owner, deadline: Deadline, prefix: str
    ) -> LineResult:
        """Run one line of queued work (a batch line, an async job) paid for by ``owner``.

        Its images are kept under ``prefix`` and its result is recorded in the write that
        settles its charge. A mistake of the client's (a bad request, a refused charge,
        filtered content) is the line's result, recorded unpaid; a failure of ours raises,
        refunded, for the queue to try the line again. ``WorkPending`` raises with the charge
        still reserved: the attempt that collects the work settles it (should none come, the
        dead-letter path or reconciliation refunds it).
        """
        request_id = line_request_id(item.batch_id, item.index)
        try:
            request = parse_request(item.body)
            sources = from_request(request)
            job = build_job(self.catalog.get(request.model), request, request_id, sources)
            reservation = self.billing.reserve(owner, job, Meter())
        except ImagegateError as exc:
            if retryable(exc):
                self._note_failure(item, exc)
                raise
            refused = error_result(item, exc)
            self.jobs.record(refused)
            return refused
        try:
            kept = self._keep(request, job, deadline, prefix)
        except WorkPending:
            raise  # its reservation stays open for the attempt that collects the work
        except ImagegateError as exc:
            if retryable(exc):
                self._settle_line(reservation, 0, None, exc.code)
                self._note_failure(item, exc)
                raise
            failed = error_result(item, exc)
            self._settle_line(reservation, 0, failed, exc.code)
            return failed
        except BaseException:
            self._settle_line(reservation, 0, None, "internal_error")
            raise
        cost = len(kept.data) * reservation.charge.unit_price
        kept.cost = cost
        kept.remaining_balance = reservation.balance + reservation.charge.amount - cost
        body = kept.model_dump(mode="json", exclude_none=True)
        result = LineResult(item.batch_id, item.index, item.custom_id, 200, body, cost)
        self._settle_line(reservation, len(kept.data), result, None)
        return result

    def _note_failure(self, item: WorkItem, exc: ImagegateError) -> None:
        """What this attempt failed with, for the line's result should no attempt pass."""
        try:
            self.jobs.note_failure(error_result(item, exc))
        except StorageError:
            logger.exception("failure not noted", batch_id=item.batch_id, index=item.index)

    def abandon(self, result: LineResult, *, owner: Owner, code: str) -> None:
        """Record a line that will not run again, refunding in the same write whatever
        reservation its last attempt left open (it died, or its work was pending)."""
        record = self.keys.get(owner.key_id)
        charge = record.open_reservations.get(result.request_id) if record else None
        if record is None or charge is None:
            self.jobs.record(result)
            return
        reservation = Reservation(owner.key_id, charge, record.balance, ())
        self._settle_line(reservation, 0, result, code)

    def view_job(
        self, job: Batch, result: LineResult | None, response_format: str | None
    ) -> dict[str, Any]:
        """The job as its route and webhook show it: once it succeeded, with the body the
        synchronous call would have answered in ``response_format`` (URLs signed afresh)."""
        answer = None
        if result is not None and result.succeeded:
            kept = StoredImages.model_validate(result.body)
            answer = self.delivery.answer(kept, response_format).model_dump(
                mode="json", exclude_none=True
            )
        return describe_job(job, result, answer)

    def _settle_line(
        self, reservation: Reservation, delivered: int, result: LineResult | None, code: str | None
    ) -> None:
        try:
            self.billing.settle(reservation, delivered, error_code=code, result=result)
        except ResultRecorded:
            # Another attempt recorded the line, settling its charge: release ours, if it was
            # not that same reservation.
            self.billing.release(reservation, error_code="duplicate_attempt")
            logger.info(
                "line recorded by another attempt", request_id=reservation.charge.request_id
            )

    def _charged(
        self,
        request: GenerationRequest,
        credentials: Credentials,
        request_id: str,
        deadline: Deadline,
        sources: ImageSources,
        meter: Meter,
        deliver: Callable[[GenerationRequest, GenerationJob, Deadline], Answer],
    ) -> Answer:
        model = self.catalog.get(request.model)
        if not model.synchronous:
            raise InvalidRequest(
                f"{model.id} works longer than a request can wait: send it as an asynchronous "
                'job (header Prefer: respond-async, or "async": true) or in a batch.',
                param="model",
                code="model_requires_async",
            )
        job = build_job(model, request, request_id, sources)
        reservation = self.billing.reserve(credentials, job, meter)
        try:
            response = deliver(request, job, deadline)
        except BaseException as exc:
            code = exc.code if isinstance(exc, ImagegateError) else "internal_error"
            try:
                self.billing.settle(reservation, 0, error_code=code)
            except StorageError:  # the client hears of the first failure; reconcile refunds
                logger.exception("settling a failed request failed", request_id=request_id)
            raise
        usage = self.billing.settle(reservation, len(response.data))
        response.cost = usage.charged
        response.remaining_balance = reservation.balance + usage.refunded
        return response

    def _generated(self, job: GenerationJob, deadline: Deadline) -> list[GeneratedImage]:
        # Never more than was asked (and reserved for), whatever a backend returns.
        generated = self.backends[job.model.backend].generate(job, deadline)[: job.n]
        if not generated:
            raise BackendError(f"{job.model.id} returned no images.")
        if len(generated) < job.n:
            logger.warning(
                "partial delivery",
                request_id=job.request_id,
                model=job.model.id,
                asked=job.n,
                delivered=len(generated),
            )
        return generated

    def _deliver(
        self, request: GenerationRequest, job: GenerationJob, deadline: Deadline
    ) -> ImagesResponse:
        if request.response_format != "b64_json":
            kept = self._keep(request, job, deadline)
            return self.delivery.answer(kept, request.response_format)
        created = int(self.clock())
        return self.delivery.inline(job, created, self._generated(job, deadline))

    def _keep(
        self,
        request: GenerationRequest,
        job: GenerationJob,
        deadline: Deadline,
        prefix: str | None = None,
    ) -> StoredImages:
        """Images stored whatever the format, for replays and queued results."""
        created = int(self.clock())
        generated = self._generated(job, deadline)
        if request.response_format == "b64_json":  # refused now, before it is paid for
            self.delivery.check_inline_size([len(image.data) for image in generated])
        return self.delivery.keep(job, created, generated, prefix)


def idempotency_scope(
    kind: Literal["generation", "job", "batch"], credentials: Credentials, key: str
) -> str:
    """The record an ``Idempotency-Key`` names: one per kind of call and API key, scoped by
    the secret's hash too, so only the key's holder reaches it. The client's string comes
    last, after parts that hold no colon, so no key of one kind spells another's record."""
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
            param="Idempotency-Key",
        )
    return f"{kind}:{credentials.key_id}:{credentials.secret_hash}:{key}"


def fingerprint(request: GenerationRequest, sources: ImageSources) -> str:
    """What makes two requests the same one: every field, and the bytes of any files."""
    digest = hashlib.sha256(request.model_dump_json(exclude_none=True).encode())
    for source in (*sources.images, sources.mask):
        if source is not None:
            digest.update(
                hashlib.sha256(source.encode() if isinstance(source, str) else source).digest()
            )
    return digest.hexdigest()
