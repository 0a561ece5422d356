"""The generation service: one request in, paid for, stored or inline images out.

The HTTP API calls ``GenerationService.generate`` (or ``open_stream``); queued lines
(``work/lines.py``) its ``paying`` and ``keep``. Each is paid for through ``money/paid.py``.
"""

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from handler.core.catalog import Catalog, CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import InvalidRequest
from handler.core.idempotency import idempotency_scope
from handler.core.image_input import ImageSources, from_request
from handler.core.inference import GeneratedImage
from handler.core.records.keys import ApiKeyRecord, Credentials, Payer
from handler.core.records.quotes import Quote
from handler.core.records.work import WorkItem
from handler.core.schemas import (
    GenerationRequest,
    ImagesResponse,
    StoredImages,
)
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from handler.generation.delivery import Delivery
from handler.generation.moderating import Moderation
from handler.generation.offering import Offering
from handler.generation.routing import Routed, Router
from handler.generation.streaming import EventKind, ImageStream
from handler.keys.auth import replayed
from handler.money.paid import PaidGeneration, Receipt
from handler.money.policy import Meter
from handler.ports.idempotency import Idempotency
from handler.ports.keys import KeyStore


@dataclass(frozen=True, slots=True)
class GenerationService:
    catalog: Catalog
    router: Router
    offering: Offering
    delivery: Delivery
    keys: KeyStore
    paid: PaidGeneration
    idempotency: Idempotency
    moderation: Moderation | None = None
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
        if request.response_format is None:  # the default of the name the request used
            default = self.catalog.get(request.model).default_response_format
            request = request.model_copy(update={"response_format": default})
        if idempotency_key is None:
            spec = build_spec(self.model(request), request, request_id, sources)
            created = int(self.clock())
            with self.paying(spec, deadline, credentials, meter) as (images, receipt):
                answer = self.delivery.deliver(spec, created, images, request.response_format)
                return receipt.bill(answer)
        scope = idempotency_scope("generation", credentials, idempotency_key)

        def work() -> dict[str, Any]:
            spec = build_spec(self.model(request), request, request_id, sources)
            with self.paying(spec, deadline, credentials, meter) as (images, receipt):
                kept = receipt.bill(self.keep(request, spec, images))
            return kept.model_dump(mode="json", exclude_none=True)

        kept = self.idempotency.once(scope, fingerprint(request, sources), work, deadline)
        replayed(credentials, self.keys, meter, now=self.clock())
        return self.delivery.answer(StoredImages.model_validate(kept), request.response_format)

    @contextmanager
    def paying(
        self,
        spec: GenerationSpec,
        deadline: Deadline,
        payer: Payer,
        meter: Meter,
        line: WorkItem | None = None,
    ) -> Iterator[tuple[list[GeneratedImage], Receipt]]:
        """The paid path of every buffered generation (a request, an async job, a batch
        line): its prompt moderated and its placements chosen before anything is reserved,
        then its price reserved and its images made (``money/paid.py``). The caller delivers
        them and bills the receipt; leaving, the reservation is settled for what was billed,
        or refunded, a queued ``line``'s result recorded with it."""
        routed = self.route(spec, deadline, payer)
        try:
            with self.paid.generating(payer, spec, meter, routed, deadline, line) as made:
                yield made
        finally:
            meter.placement = routed.placement

    def open_stream(
        self,
        request: GenerationRequest,
        *,
        credentials: Credentials,
        request_id: str,
        deadline: Deadline,
        kind: EventKind,
        sources: ImageSources | None = None,
        meter: Meter | None = None,
    ) -> ImageStream:
        """A ``stream: true`` request checked and its price reserved; its events are made as
        the response body is read."""
        sources = from_request(request) if sources is None else sources
        spec = build_spec(self.model(request), request, request_id, sources)
        routed = self.route(spec, deadline, credentials)
        meter = meter or Meter()
        reservation = self.paid.reserve(credentials, spec, meter)
        meter.placement = routed.placement  # the first choice: a stream's headers go first
        return ImageStream(spec, kind, routed, self.paid, reservation, deadline, self.clock)

    def quote(self, request: GenerationRequest, key: ApiKeyRecord, request_id: str) -> Quote:
        """The price of ``request``, held for ``key`` a few minutes (``money/quotes.py``):
        checked and priced as its generation would be (an async one's as queued)."""
        model = self.catalog.get(request.model) if request.async_ else self.model(request)
        spec = build_spec(model, request, request_id, from_request(request))
        return self.paid.quotes.make(key, spec)

    def model(self, request: GenerationRequest) -> CatalogModel:
        """The model a synchronous request runs (under the name it used), checked before
        anything is reserved: served now, and quick enough to wait for."""
        model = self.offering.model(request.model)
        if not model.synchronous:
            raise InvalidRequest(
                f"{model.name} works longer than a request can wait: send it as an "
                'asynchronous job (header Prefer: respond-async, or "async": true) or in a '
                "batch.",
                param="model",
                code="model_requires_async",
            )
        return model

    def queued_spec(self, request: GenerationRequest, request_id: str) -> GenerationSpec:
        """What a queued line (a batch line, an async job) asks for, whatever its model's speed."""
        return build_spec(
            self.catalog.get(request.model), request, request_id, from_request(request)
        )

    def route(self, spec: GenerationSpec, deadline: Deadline, payer: Payer) -> Routed:
        """Where ``spec`` runs, its prompt moderated first (before anything is reserved)."""
        screen = self.moderation.screen(payer, spec) if self.moderation else None
        routed = self.router.route(spec, deadline)
        if screen is not None:
            routed.screen, routed.trail.verdicts = screen, screen.verdicts  # one list: settled
        return routed

    def keep(
        self,
        request: GenerationRequest,
        spec: GenerationSpec,
        images: list[GeneratedImage],
        prefix: str | None = None,
    ) -> StoredImages:
        """Store the images made whatever the format (for replays and queued work, under
        ``prefix`` if given); an inline answer too large to send is refused before it is paid
        for."""
        if request.response_format == "b64_json":
            self.delivery.check_inline_size([len(image.data) for image in images])
        return self.delivery.keep(spec, int(self.clock()), images, prefix)


def fingerprint(request: GenerationRequest, sources: ImageSources) -> str:
    """What makes two requests the same one: every field, and the bytes of any files."""
    digest = hashlib.sha256(request.model_dump_json(exclude_none=True).encode())
    for source in (*sources.images, sources.mask):
        if source is not None:
            digest.update(
                hashlib.sha256(source.encode() if isinstance(source, str) else source).digest()
            )
    return digest.hexdigest()
