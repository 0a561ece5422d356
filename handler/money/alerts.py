"""A key's low-balance alert: when a charge takes its balance below the key's threshold, one
``balance.low`` webhook (to the key's webhook URL, if it has one) and one ``Balance Low``
event on the bus. Once per crossing: the key's mark says it was sent, and only a top-up
takes the mark away, so a balance that hovers at the threshold (refunds lifting it back
over) is told of once."""

from handler.core.errors import ApiError
from handler.core.records.keys import ApiKeyRecord
from handler.observability import logger
from handler.ports.balance_alerts import BalanceAlerts


def crossed_below(record: ApiKeyRecord, taken: int) -> bool:
    """Whether taking ``taken`` is what took ``record`` (the key after it) below its
    low-balance threshold."""
    threshold = record.policy.low_balance_threshold
    return (
        threshold is not None
        and not record.low_balance_alerted
        and record.balance < threshold <= record.balance + taken
    )


def alert_if_crossed(alerts: BalanceAlerts | None, record: ApiKeyRecord, taken: int) -> None:
    """Tell of a crossing, never failing the charge that made it (it is logged)."""
    if alerts is None or not crossed_below(record, taken):
        return
    try:
        alerts.balance_low(record)
    except ApiError:
        logger.exception("low-balance alert not sent", key_id=record.key_id)
