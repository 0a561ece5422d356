"""The process-wide Logger and Metrics.

Powertools reads its own POWERTOOLS_* variables. Traces come from the template's active
tracing (API Gateway's and Lambda's own segments, one trace per request) without the X-Ray
SDK in the process: its import alone cost more than half the rest of a cold start
(``bench/cold_start.py``), for subsegments of the AWS calls.
"""

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "imagegate"
NAMESPACE = "imagegate"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """A count, with the invocation's other metrics (dimension ``service``)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_spend(model: str, backend: str, images: int, charged: int) -> None:
    """A settled request's images and charge (micro-units): in all, for the alarms, and by
    model and backend, for the dashboard (metrics of their own: an invocation may settle
    several models' work)."""
    for name, value in (("Images", images), ("Spend", charged)):
        count(name, value)
        if is_metrics_disabled():  # single metrics print at once; the local stack has none
            continue
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="model", value=model)
            metric.add_dimension(name="backend", value=backend)
