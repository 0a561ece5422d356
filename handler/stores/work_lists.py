"""A key's batches and async jobs, newest first, through the jobs table's ``by_owner`` index.

Each batch item carries ``owner`` (``<key id>#<stored kind>``) and ``listed``
(``<created at, 13 digits of ms>#<id>``); line results carry neither, so the index holds only the
batches themselves and a page is one query that reads no more than it returns."""

from collections.abc import Sequence
from typing import Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import batch_items
from handler.aws.errors import aws_errors
from handler.core.errors import StorageError
from handler.core.records.work import LineResult, Work, WorkT
from handler.stores.work_items import batch_of, line_sk, listed, owner, result_of

INDEX = "by_owner"


def owned_page(
    client: Any, table: str, key_id: str, of: type[WorkT], *, limit: int, after: WorkT | None
) -> tuple[list[WorkT], bool]:
    """Up to ``limit`` of the key's batches (or jobs) older than ``after``, newest first, and
    whether there are more."""
    below = "~" if after is None else listed(after)  # '~' sorts after every digit
    with aws_errors("Could not list the batches."):
        answer = client.query(
            TableName=table,
            IndexName=INDEX,
            KeyConditionExpression="#owner = :owner AND listed < :below",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":owner": {"S": owner(key_id, of)},
                ":below": {"S": below},
            },
            ScanIndexForward=False,
            Limit=limit + 1,  # one more says whether there is more
        )
    items = answer["Items"]
    # The list holds only ``of``'s items: reading them back as it is a check, never a filter.
    return [_as(of, batch_of(item)) for item in items[:limit]], len(items) > limit


def _as(of: type[WorkT], work: Work) -> WorkT:
    if not isinstance(work, of):
        raise StorageError(f"The list of {of.noun}s holds {work.id}, which is not one.")
    return work


def first_results(client: Any, table: str, batch_ids: Sequence[str]) -> dict[str, LineResult]:
    """The result of line 0 of each batch that has one (an async job's only line), by id."""
    keys = [{"pk": {"S": batch_id}, "sk": {"S": line_sk(0)}} for batch_id in batch_ids]
    # Consistent: the index said the job is finished, so its result is there to read.
    items = batch_items(client, table, keys, "Could not read the jobs' results.")
    found: dict[str, LineResult] = {}
    for item in items:
        result = result_of(item)
        found[result.batch_id] = result
    return found


class DynamoDBWorkLists:
    def __init__(self, table: str, client: Any = None):
        self._table = table
        self._client = client or dynamodb_client()

    def owned(
        self, key_id: str, of: type[WorkT], *, limit: int, after: WorkT | None
    ) -> tuple[list[WorkT], bool]:
        return owned_page(self._client, self._table, key_id, of, limit=limit, after=after)

    def first_results(self, batch_ids: Sequence[str]) -> dict[str, LineResult]:
        return first_results(self._client, self._table, batch_ids)
