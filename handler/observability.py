"""The process-wide Logger and Metrics.

Powertools reads its own POWERTOOLS_* variables. Traces come from the template's active
tracing (API Gateway's and Lambda's own segments, one trace per request) without the X-Ray
SDK in the process: its import alone cost more than half the rest of a cold start
(``bench/cold_start.py``), for subsegments of the AWS calls.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from handler.config import lambda_runtime

# The stack's name in Lambda (template.yaml), so the alarms of two stacks in one account each
# select their own; one namespace for all, so a dashboard can set them side by side.
SERVICE = lambda_runtime().service_name
NAMESPACE = "imagegate"


class _InvocationMetrics(AmazonCloudWatchEMFProvider):
    """Powertools' EMF metrics, each invocation's forgotten when it is flushed, published or
    not. Where metrics are off (POWERTOOLS_METRICS_DISABLED, the local stack), Powertools
    keeps them instead, for the process's life: at a metric's hundredth value it prints them
    all to stdout and empties the set, and the invocation that added it then flushes an empty
    set, which it warns of."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
        self.clear_metrics()


logger = Logger(service=SERVICE)
metrics = Metrics(provider=_InvocationMetrics(namespace=NAMESPACE, service=SERVICE))


def count(name: str, value: int = 1) -> None:
    """A count, with the invocation's other metrics (dimension ``service``)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_status(status: int) -> None:
    """An HTTP answer, counted by class: Http2xx, Http4xx, Http5xx."""
    count(f"Http{status // 100}xx")


def record_spend(model: str, backend: str, images: int, charged: int, cost: int) -> None:
    """A settled request's images, charge and what it cost the operator (micro-units), in one
    EMF object of their own with two dimension sets: by service (what the alarms read) and by
    service, model and backend (the dashboard's). ``NegativeMargin`` is what a request that
    delivered lost the operator (its cost above its charge: a price set below cost); a failed
    request's cost shows in ``OperatorCost`` and the margin report. Not in the invocation's
    object: an invocation may settle several models' work, and its other metrics are not
    wanted by model."""
    spend = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    spend.add_metric(name="Images", unit=MetricUnit.Count, value=images)
    spend.add_metric(name="Spend", unit=MetricUnit.Count, value=charged)
    spend.add_metric(name="OperatorCost", unit=MetricUnit.Count, value=cost)
    loss = cost - charged if charged else 0
    spend.add_metric(name="NegativeMargin", unit=MetricUnit.Count, value=max(loss, 0))
    spend.add_dimensions(service=SERVICE, model=model, backend=backend)
    spend.flush_metrics()  # printed now; nothing where metrics are off (the local stack)
