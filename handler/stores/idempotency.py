"""``Idempotency-Key`` records in DynamoDB, kept by Powertools Idempotency.

Powertools writes an in-progress record with a conditional put before the work, stores the
result after it, deletes the record if the work raises, and compares a hash of the payload to
tell a retry from a different request under the same key. Records expire after 24 hours (its
own check: DynamoDB's TTL deletes them only eventually).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.aws.clients import dynamodb_client
from handler.core.deadline import Deadline
from handler.core.errors import Conflict, IdempotencyKeyReused, StorageError
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TTL_SECONDS = 24 * 3600
# How long past its deadline a first run may still be storing and settling (the function's
# timeout sits above the API's): its in-progress claim holds that much longer.
IN_PROGRESS_GRACE_SECONDS = 60


class _UntilDeadline:
    """The slice of a Lambda context Powertools reads: how long the first run may still take
    (past that, its in-progress record no longer blocks a retry: its process died)."""

    def __init__(self, deadline: Deadline):
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline.remaining() + IN_PROGRESS_GRACE_SECONDS) * 1000))


class DynamoDBIdempotency:
    def __init__(self, table: str, client: "DynamoDBClient | None" = None):
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=client or dynamodb_client()
        )

    def once(
        self, key: str, fingerprint: str, work: Callable[[], dict[str, Any]], deadline: Deadline
    ) -> dict[str, Any]:
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="fingerprint",
            expires_after_seconds=TTL_SECONDS,
            raise_on_no_idempotency_key=True,
        )
        config.register_lambda_context(cast(LambdaContext, _UntilDeadline(deadline)))

        finished: list[dict[str, Any]] = []

        def run(request: dict[str, str]) -> dict[str, Any]:
            finished.append(work())
            return finished[0]

        once = idempotent_function(
            run,
            data_keyword_argument="request",
            persistence_store=self._persistence,
            config=config,
            key_prefix="imagegate",
        )
        try:
            return cast(dict[str, Any], once(request={"key": key, "fingerprint": fingerprint}))
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                "A request with this Idempotency-Key is still running; retry shortly to get "
                "its result.",
                code="idempotency_in_progress",
                should_retry=True,
                retry_after=1,
            ) from None
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            if finished:
                # Done and paid for, but not recorded: answer anyway. A retry would find the
                # record in progress until it lapses, then run and pay again.
                logger.exception("idempotency record not saved")
                return finished[0]
            raise StorageError("Could not read or write the idempotency record.") from exc
