"""The longest batch a file may hold (50,000 lines) is finalized in bounded memory: its
results read a page at a time, its output.jsonl uploaded in parts as it is rendered."""

import tracemalloc
from typing import Any, cast

import pytest

from handler import container
from handler.aws.clients import dynamodb_client
from handler.config import get_settings
from handler.core.records.work import MAX_LINES, Batch, LineResult
from handler.stores.batch_files import PART_BYTES, S3BatchFiles
from handler.stores.work import RESULTS_PAGE, DynamoDBWorkStore
from handler.stores.work_items import BATCH_SK, line_sk, result_item
from handler.work.finish import Finisher

NOW = 1_800_000_000


class CountingS3:
    """S3's upload calls, each body's size counted and the bytes dropped: what is measured
    is the finalization's memory, not a stand-in's storage of the file."""

    def __init__(self) -> None:
        self.parts: list[int] = []

    def create_multipart_upload(self, **_: Any) -> dict[str, Any]:
        return {"UploadId": "u"}

    def upload_part(self, *, Body: bytes, PartNumber: int, **_: Any) -> dict[str, Any]:
        self.parts.append(len(Body))
        return {"ETag": f'"{PartNumber}"'}

    def complete_multipart_upload(self, **_: Any) -> dict[str, Any]:
        return {}


class Silent:
    def finished(self, *_: Any) -> None:
        pass


class Paged:
    """The jobs table's client, but for its results' query, answered from ``items`` with
    DynamoDB's paging (Limit, ExclusiveStartKey, LastEvaluatedKey): moto sorts a whole
    partition for every page, and 50 pages of 50,000 lines would take the test minutes.
    (``tests/unit/test_batch_paging.py`` holds what each query asks.)"""

    def __init__(self, client: Any, items: list[dict[str, Any]]) -> None:
        self._client = client
        self._items = items
        self.queries: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **query: Any) -> dict[str, Any]:
        after = query.get("ExclusiveStartKey")
        start = 0 if after is None else int(after["sk"]["S"].removeprefix("line#")) + 1
        page = self._items[start : start + query["Limit"]]
        self.queries.append(query["Limit"])
        answer: dict[str, Any] = {"Items": page}
        if start + len(page) < len(self._items):
            answer["LastEvaluatedKey"] = {"pk": page[-1]["pk"], "sk": page[-1]["sk"]}
        return answer


def _results(batch_id: str, lines: int) -> list[dict[str, Any]]:
    body = {
        "created": NOW,
        "data": [{"s3_key": f"images/{batch_id}/line/0.png", "seed": 1234567}],
        "usage": {"images": 1},
        "cost": 4000,
    }
    return [
        result_item(LineResult(batch_id, i, f"request-{i:05d}", 200, body, 4000), line_sk(i))
        for i in range(lines)
    ]


def _split(batch_id: str, lines: int) -> None:
    """The batch item as the worker leaves it once its last line is recorded."""
    container.work_store().create(Batch(batch_id, "key1", "in_progress", NOW, total=lines))
    dynamodb_client().update_item(
        TableName=get_settings().work_table,
        Key={"pk": {"S": batch_id}, "sk": {"S": BATCH_SK}},
        UpdateExpression="SET remaining = :zero, succeeded = :lines",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":lines": {"N": str(lines)}},
    )


@pytest.mark.usefixtures("aws")
def test_a_50000_line_finalization_holds_a_part_of_the_file_at_a_time() -> None:
    _split("batch_long", MAX_LINES)
    table = Paged(dynamodb_client(), _results("batch_long", MAX_LINES))
    store = DynamoDBWorkStore(get_settings().work_table, cast(Any, table))
    s3 = CountingS3()
    files = S3BatchFiles("bucket", 300, client=s3)  # type: ignore[arg-type]
    finisher = Finisher(store, files, Silent(), container.delivery(), clock=lambda: NOW)
    tracemalloc.start()
    try:
        done = finisher.finish("batch_long")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert done is not None
    assert done.status == "completed"
    assert len(table.queries) == MAX_LINES // RESULTS_PAGE
    written = sum(s3.parts)
    assert len(s3.parts) >= 2  # went out in parts, the first as soon as it filled
    assert s3.parts[0] >= PART_BYTES
    # Neither the whole file nor every result held at once: a part, and a page of results.
    assert peak < PART_BYTES + 8 * 2**20, f"peak {peak / 2**20:.1f} MiB, file {written / 2**20:.1f}"
