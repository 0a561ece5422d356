"""Routing across a model's placements: which it tries, in what order, when it fails over
and what each attempt cost the operator. SageMaker is the real backend on a Stubber client;
the other placement is the preview backend."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handler.backends.parallel import worst
from handler.backends.preview import PreviewBackend
from handler.backends.sagemaker import SageMakerBackend
from handler.core.catalog import CatalogModel, load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendTimeout, BackendUnavailable
from handler.core.inference import GeneratedImage, PartialImage
from handler.core.records.charges import Attempt
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from handler.generation.routing import Router
from handler.ports.backends import InferenceBackend
from tests.support import ROOT

ENTRY = load_catalog(ROOT / "infra" / "catalog.json").get("sd-imagegate")
HOURLY = 3_600_000  # an endpoint's instance-hour: 1,000 micro-units a second


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Served:
    """A backend as routing sees it: served, and doing what ``run`` says."""

    def __init__(self, run: Any = None, clock: Clock | None = None, seconds: float = 0.0):
        self.run, self.calls, self._clock, self._seconds = run, 0, clock, seconds

    def unserved(self, model: CatalogModel) -> None:
        return None

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]:
        self.calls += 1
        if self._clock is not None:
            self._clock.now += self._seconds
        if isinstance(self.run, Exception):
            raise self.run
        if self.run is not None:
            return list(self.run(spec, deadline))
        return PreviewBackend(instant=True).generate(spec, deadline)


class Circuits:
    def __init__(self, open_until: dict[str, float] | None = None) -> None:
        self.open = open_until or {}
        self.failures: list[str] = []

    def open_until(self, circuits: Any) -> dict[str, float]:
        return {circuit: self.open.get(circuit, 0.0) for circuit in circuits}

    def failed(self, circuit: str) -> None:
        self.failures.append(circuit)


def _model(*placements: dict[str, Any], routing: str = "priority") -> CatalogModel:
    card = ENTRY.model_dump(exclude={"placements", "placement"})
    return CatalogModel.model_validate({**card, "routing": routing, "placements": placements})


def _placement(pid: str, backend: str = "preview", **fields: Any) -> dict[str, Any]:
    params = ENTRY.backend_params if backend == "sagemaker" else {}
    return {"id": pid, "backend": backend, "backend_params": params, **fields}


def _spec(model: CatalogModel, n: int = 1) -> GenerationSpec:
    request = GenerationRequest(prompt="a fox", n=n, size="512x512")
    return build_spec(model, request, "req_route")


@pytest.fixture
def stub() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _endpoint_then_preview(client: Any, clock: Clock) -> tuple[Router, CatalogModel]:
    sagemaker = SageMakerBackend(lambda timeout: client)
    backends: dict[str, InferenceBackend] = {
        "sagemaker": Served(clock=clock, seconds=2.0, run=sagemaker.generate),
        "preview": PreviewBackend(instant=True),
    }
    model = _model(
        _placement("endpoint", "sagemaker", cost={"per_instance_hour": HOURLY}),
        _placement("preview", cost={"per_image": 7}),
    )
    return Router(backends, Circuits(), clock=clock), model


def test_a_throttled_endpoint_fails_over_having_cost_nothing(stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_client_error("invoke_endpoint", service_error_code="ThrottlingException")
    clock = Clock()
    router, model = _endpoint_then_preview(client, clock)
    spec = _spec(model, n=2)
    routed = router.route(spec, Deadline.after(60))
    images = routed.generate(spec, Deadline.after(60))
    assert len(images) == 2
    assert routed.attempts == [
        Attempt("endpoint", 0, "backend_unavailable"),
        Attempt("preview", 14),
    ]
    assert routed.placement == 'preview; reason="failover from endpoint (backend_unavailable)"'


def test_a_model_that_failed_on_the_endpoint_is_not_tried_elsewhere(
    stub: tuple[Any, Stubber],
) -> None:
    client, stubber = stub
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": "CUDA OOM"},
    )
    clock = Clock()
    router, model = _endpoint_then_preview(client, clock)
    spec = _spec(model)
    routed = router.route(spec, Deadline.after(60))
    with pytest.raises(BackendError) as failed:
        routed.generate(spec, Deadline.after(60))
    assert not failed.value.nothing_ran
    # The instance ran two seconds of an hour that costs 3.60
    assert routed.attempts == [Attempt("endpoint", 2_000, "backend_error")]


def test_a_timeout_ends_the_request_where_it_ran() -> None:
    clock = Clock()
    first = Served(BackendTimeout("late"), clock, seconds=5.0)
    second = Served()
    router = Router({"replicate": first, "preview": second}, clock=clock)
    model = _model(
        _placement("gpu", "replicate", cost={"per_second": 100}),
        _placement("preview"),
    )
    spec = _spec(model)
    routed = router.route(spec, Deadline.after(60))
    with pytest.raises(BackendTimeout):
        routed.generate(spec, Deadline.after(60))
    assert (first.calls, second.calls) == (1, 0)
    assert routed.attempts == [Attempt("gpu", 500, "backend_timeout")]


def test_cheapest_first_when_the_model_says_so() -> None:
    backends = {"preview": Served(), "replicate": Served()}
    model = _model(
        _placement("dear", "replicate", cost={"per_image": 5_000}),
        _placement("cheap", cost={"per_image": {"512x512": 3_000, "*": 9_000}}),
        routing="cheapest",
    )
    routed = Router(backends).route(_spec(model), Deadline.after(60))
    assert [m.bound.id for m in routed.models] == ["cheap", "dear"]
    assert routed.reason == "cheapest"


def test_priority_orders_before_the_listed_order() -> None:
    model = _model(_placement("a", priority=5), _placement("b", priority=1))
    routed = Router({"preview": Served()}).route(_spec(model), Deadline.after(60))
    assert [m.bound.id for m in routed.models] == ["b", "a"]


def test_a_placement_too_slow_for_what_is_left_is_skipped() -> None:
    clock = Clock()
    slow, quick = Served(clock=clock, seconds=20.0), Served()
    router = Router({"replicate": slow, "preview": quick}, clock=clock)
    model = _model(_placement("slow", "replicate", cost={"per_second": 1}), _placement("quick"))
    spec = _spec(model)
    # Seen taking 20 s here
    routed = router.route(spec, Deadline.after(60))
    routed.generate(spec, Deadline.after(60))
    # so a request with 10 s left goes elsewhere
    routed = router.route(spec, Deadline.after(10))
    assert [m.bound.id for m in routed.models] == ["quick"]
    assert routed.reason == "priority; slow too slow"


def test_with_every_circuit_open_nothing_is_tried_and_the_client_told_when() -> None:
    model = _model(_placement("a"), _placement("b"))
    clock = Clock()
    circuits = Circuits(
        {"circuit#sd-imagegate#a": clock.now + 12, "circuit#sd-imagegate#b": clock.now + 30}
    )
    backend = Served()
    router = Router({"preview": backend}, circuits, clock=clock)
    with pytest.raises(BackendUnavailable) as refused:
        router.route(_spec(model), Deadline.after(60))
    assert refused.value.retry_after == 12
    assert "a circuit open, b circuit open" in refused.value.message
    assert backend.calls == 0


def test_failures_count_towards_the_circuit_but_refusals_of_configuration_do_not() -> None:
    circuits = Circuits()
    throttled = Served(BackendUnavailable("busy"))
    router = Router({"replicate": throttled, "preview": Served()}, circuits)
    model = _model(_placement("gpu", "replicate", cost={"per_second": 1}), _placement("b"))
    spec = _spec(model)
    router.route(spec, Deadline.after(60)).generate(spec, Deadline.after(60))
    assert circuits.failures == ["circuit#sd-imagegate#gpu"]


def test_one_placement_is_used_as_it_is() -> None:
    circuits = Circuits()
    routed = Router({"sagemaker": Served(BackendUnavailable("busy"))}, circuits).route(
        _spec(ENTRY), Deadline.after(60)
    )
    assert routed.reason == "only"
    with pytest.raises(BackendUnavailable):
        routed.generate(_spec(ENTRY), Deadline.after(60))
    assert circuits.failures == []  # nothing to fail over to: no circuit to keep


def test_several_calls_ran_nothing_only_if_none_of_them_did() -> None:
    ran = BackendError("the model failed")
    busy = BackendUnavailable("busy")
    assert worst([BackendUnavailable("busy"), BackendUnavailable("busy")]).nothing_ran
    assert not worst([busy, ran]).nothing_ran


def test_a_stream_fails_over_before_its_first_preview_only() -> None:
    class Streams(Served):
        def __init__(self, fail_after: int | None) -> None:
            super().__init__()
            self.fail_after = fail_after

        def stream(self, spec: GenerationSpec, deadline: Deadline) -> Iterator[Any]:
            self.calls += 1
            for index in range(2):
                if index == self.fail_after:
                    raise BackendUnavailable("busy")
                yield PartialImage(b"p", 0, index)
            yield PreviewBackend(instant=True).generate(spec, deadline)

    model = _model(_placement("a", "replicate", cost={"per_second": 1}), _placement("b"))
    spec = _spec(model)
    early = Router({"replicate": Streams(fail_after=0), "preview": Streams(None)})
    steps = list(early.route(spec, Deadline.after(60)).stream(spec, Deadline.after(60)))
    assert isinstance(steps[-1], list)
    late = Router({"replicate": Streams(fail_after=1), "preview": Streams(None)})
    with pytest.raises(BackendUnavailable):
        list(late.route(spec, Deadline.after(60)).stream(spec, Deadline.after(60)))
