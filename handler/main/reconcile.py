"""ReconcileFunction, scheduled: refund the reservations no request settled, then hold every
key's balance against its ledger (``money/reconciler.py``)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import container
from handler.main import phases
from handler.money import reconciler
from handler.observability import logger, metrics


def warm(everything: bool) -> None:
    container.charge_store()
    container.entries()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    found = reconciler.reconcile(container.charge_store(), container.entries())
    metrics.add_metric(
        name="ReservationsReconciled", unit=MetricUnit.Count, value=found["reconciled"]
    )
    metrics.add_metric(name="LedgerMismatches", unit=MetricUnit.Count, value=found["off_ledger"])
    return found


phases.start(warm)
