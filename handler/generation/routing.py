"""Routing a request across its model's placements, and failing over without paying twice.

A model with one placement runs there. With several, a request skips those it cannot use now
(unserved, circuit open, too slow for what is left of its deadline), and tries the rest in the
operator's order or cheapest first. It moves on to the next only when the one it tried
provably ran nothing billable (``BackendError.nothing_ran``: refused before starting,
throttled, unreachable); work that may have run, or timed out (a timeout cancels what it can),
ends the request. However many placements it tries, the request holds one reservation and is
charged once, for what was delivered; each attempt's cost to the operator is recorded.
"""

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from handler.core.catalog import CatalogModel
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    BackendNotConfigured,
    BackendRefused,
    BackendUnavailable,
    WorkPending,
)
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.placements import Placement, circuit_id
from handler.core.records.charges import Attempt, Trail
from handler.core.spec import GenerationSpec
from handler.generation.moderating import Screen
from handler.money.paid import delivered
from handler.observability import logger
from handler.ports.backends import InferenceBackend, StreamingBackend
from handler.ports.circuits import Circuits
from handler.ports.provenance import Provenance

# What a request is taken to need on a placement that declares no latency, until one is seen
# there: only to estimate what it costs by the second.
UNKNOWN_SECONDS = 10.0
SMOOTHING = 0.3  # the weight of the latest request in a placement's observed latency


class Router:
    """Chooses each request's placements; keeps, per instance, how long each has taken."""

    def __init__(
        self,
        backends: Mapping[str, InferenceBackend],
        circuits: Circuits | None = None,
        provenance: Provenance | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.backends = backends
        self._circuits = circuits
        self.provenance = provenance  # None: images leave as their backend made them
        self.clock = clock
        self._seconds: dict[str, float] = {}  # circuit id → observed seconds (smoothed)

    def route(self, spec: GenerationSpec, deadline: Deadline) -> "Routed":
        """Where ``spec`` may run now, best first; ``BackendUnavailable`` if nowhere."""
        model = spec.model
        if len(model.placements) == 1:
            return Routed(self, spec, [model], "only")
        circuits = [circuit_id(model.id, p.id) for p in model.placements]
        open_until = self._circuits.open_until(circuits) if self._circuits else {}
        now, remaining = self.clock(), deadline.remaining()
        usable, skipped = [], []
        for placement, circuit in zip(model.placements, circuits, strict=True):
            if self.backends[placement.backend].unserved(model.at(placement)) is not None:
                skipped.append(f"{placement.id} unserved")
            elif open_until.get(circuit, 0.0) > now:
                skipped.append(f"{placement.id} circuit open")
            elif (self.expected(model, placement) or 0.0) > remaining:
                skipped.append(f"{placement.id} too slow")
            else:
                usable.append(placement)
        if not usable:
            reopens = [until - now for until in open_until.values() if until > now]
            raise BackendUnavailable(
                f"No placement of {model.name} can take the request now ({', '.join(skipped)}).",
                retry_after=max(1, int(min(reopens))) if reopens else 5,
            )
        if model.routing == "cheapest":
            usable.sort(key=lambda p: (self._estimate(spec, p), p.priority))
        else:
            usable.sort(key=lambda p: p.priority)
        reason = model.routing + "".join(f"; {why}" for why in skipped)
        return Routed(self, spec, [model.at(p) for p in usable], reason)

    def expected(self, model: CatalogModel, placement: Placement) -> float | None:
        """How long a request takes on ``placement``: as observed here, else as declared;
        None while neither is known."""
        seen = self._seconds.get(circuit_id(model.id, placement.id))
        return seen or placement.latency_seconds

    def _estimate(self, spec: GenerationSpec, placement: Placement) -> int:
        seconds = self.expected(spec.model, placement) or UNKNOWN_SECONDS
        return placement.cost.of(spec.size, spec.n, seconds)

    def signed(self, spec: GenerationSpec, images: list[GeneratedImage]) -> list[GeneratedImage]:
        """The finished images as they are delivered: signed where they were made, after any
        change to their bytes (the backends' last encoding), once, whichever way they go."""
        return self.provenance.sign(spec, images) if self.provenance else images

    def delivered(
        self, spec: GenerationSpec, images: list[GeneratedImage], seconds: float
    ) -> Attempt:
        placement = spec.model.bound
        circuit = circuit_id(spec.model.id, placement.id)
        seen = self._seconds.get(circuit)
        self._seconds[circuit] = seconds if seen is None else seen + SMOOTHING * (seconds - seen)
        billed = [image.billed_seconds for image in images if image.billed_seconds is not None]
        cost = placement.cost.of(spec.size, len(images), sum(billed) if billed else seconds)
        return Attempt(placement.id, cost)

    def failed(
        self, spec: GenerationSpec, error: BackendError, seconds: float, several: bool
    ) -> Attempt:
        placement = spec.model.bound
        refused = isinstance(error, BackendRefused | BackendNotConfigured)  # its configuration
        if several and not refused and self._circuits is not None:
            self._circuits.failed(circuit_id(spec.model.id, placement.id))
        cost = 0 if error.nothing_ran else placement.cost.of(spec.size, 0, seconds)
        return Attempt(placement.id, cost, error.code)


@dataclass
class Routed:
    """One request's backend: its placements tried in order (``Router.route``)."""

    router: Router
    spec: GenerationSpec
    models: list[CatalogModel]  # each bound to its placement, best first
    reason: str
    trail: Trail = field(default_factory=Trail)  # each try and its cost; the verdicts
    screen: Screen | None = None  # moderation's hold on the images made

    @property
    def attempts(self) -> list[Attempt]:
        return self.trail.attempts

    @property
    def placement(self) -> str:
        """The placement that ran it (or runs it first), and why: a response header."""
        last = self.attempts[-1].placement if self.attempts else self.models[0].bound.id
        return f'{last}; reason="{self.reason}"'

    def unserved(self, model: CatalogModel) -> BackendNotConfigured | None:
        return None  # routing has left out every placement that is

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        """The images the request gets, from the first placement that makes them."""
        for last, placed in self._tries():
            started = self.router.clock()
            try:
                images = self.router.backends[placed.model.backend].generate(placed, deadline)
            except BackendError as error:
                self._failed(placed, error, started, deadline, last=last)
                continue
            self.attempts.append(self.router.delivered(placed, images, self._since(started)))
            return self._made(spec, self.router.signed(placed, images))
        raise AssertionError("the last placement's failure is raised")  # pragma: no cover

    def stream(
        self, spec: GenerationSpec, deadline: Deadline
    ) -> Iterator[PartialImage | list[GeneratedImage]]:
        """As ``generate``, previews first; failing over only before the first: work was
        shown."""
        for last, placed in self._tries():
            backend = self.router.backends[placed.model.backend]
            started, shown = self.router.clock(), False
            images: list[GeneratedImage] | None = None
            try:
                if isinstance(backend, StreamingBackend):
                    for step in backend.stream(placed, deadline):
                        if isinstance(step, list):  # previews go out unsigned; these do not
                            since = self._since(started)
                            self.attempts.append(self.router.delivered(placed, step, since))
                            images = self.router.signed(placed, step)
                        else:
                            shown = True
                            yield step
                else:
                    images = backend.generate(placed, deadline)
                    since = self._since(started)
                    self.attempts.append(self.router.delivered(placed, images, since))
                    images = self.router.signed(placed, images)
            except BackendError as error:
                self._failed(placed, error, started, deadline, last=last or shown)
                continue
            if images is not None:
                yield self._made(spec, images)
            return

    def _made(self, spec: GenerationSpec, images: list[GeneratedImage]) -> list[GeneratedImage]:
        """What the request gets of the images its placement returned: never more than it
        asked for, and only those moderation lets through."""
        images = delivered(spec, images)
        return images if self.screen is None else self.screen.sift(spec, images)

    def _tries(self) -> Iterator[tuple[bool, GenerationSpec]]:
        for index, model in enumerate(self.models):
            yield index == len(self.models) - 1, replace(self.spec, model=model)

    def _since(self, started: float) -> float:
        return max(0.0, self.router.clock() - started)

    def _failed(
        self,
        placed: GenerationSpec,
        error: BackendError,
        started: float,
        deadline: Deadline,
        *,
        last: bool,
    ) -> None:
        """Record a failed try; raise ``error`` unless the next placement may take over:
        this one ran nothing billable, and there is time left."""
        if isinstance(error, WorkPending):
            raise error  # its work goes on, to be collected and paid for later
        several = len(self.models) > 1
        self.attempts.append(self.router.failed(placed, error, self._since(started), several))
        if last or not error.nothing_ran or deadline.remaining() <= 0:
            raise error
        failed = placed.model.bound.id
        logger.warning(
            "failing over", request_id=placed.request_id, placement=failed, code=error.code
        )
        self.reason = f"failover from {failed} ({error.code})"
