"""AdminFunction: an operator's command on keys, by ``aws lambda invoke`` (``keys/commands.py``)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import accounts_container
from handler.keys import commands
from handler.main import phases
from handler.observability import logger


def warm(everything: bool) -> None:
    accounts_container.key_admin()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = commands.run(event, accounts_container.key_admin())
    # Never the key itself: only its id reaches the logs.
    action = event.get("action") if isinstance(event, dict) else None
    logger.info("admin command", action=action, key_id=result.get("key_id"))
    return result


phases.start(warm)
