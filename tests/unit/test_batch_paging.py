"""Batch results are read a page at a time and never past what is used, and output files are
written as they are rendered (stubbed DynamoDB and S3 clients, no network)."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from handler.core.errors import StorageError
from handler.core.records.work import LineResult
from handler.stores import work_lists
from handler.stores.batch_files import PART_BYTES, S3BatchFiles
from handler.stores.work import RESULTS_PAGE, DynamoDBWorkStore
from handler.stores.work_items import line_sk, result_item

TABLE = "jobs"


def _items(start: int, count: int) -> list[dict[str, Any]]:
    return [
        result_item(
            LineResult("batch_x", index, f"c{index}", 200, {"data": []}, 10), line_sk(index)
        )
        for index in range(start, start + count)
    ]


def _query(start: str, limit: int, after: dict[str, Any] | None = None) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": ANY,
        "ExpressionAttributeValues": {
            ":pk": {"S": "batch_x"},
            ":first": {"S": start},
            ":last": {"S": "line#~"},
        },
        "ConsistentRead": True,
        "Limit": limit,
    }
    if after is not None:
        expected["ExclusiveStartKey"] = after
    return expected


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_an_output_page_queries_one_page_only(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    more = {"pk": {"S": "batch_x"}, "sk": {"S": line_sk(249)}}
    first = _items(200, 50)[0]["sk"]["S"]
    stubber.add_response(
        "query", {"Items": _items(200, 50), "LastEvaluatedKey": more}, _query(first, 50)
    )
    store = DynamoDBWorkStore(TABLE, client)
    found = list(store.results("batch_x", start=200, limit=50))
    # One query, of the page's size: nothing past line 249 read (or paid for)
    assert [result.index for result in found] == list(range(200, 250))


def test_a_short_page_asks_again_for_what_is_left(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    first = _items(0, 1)[0]["sk"]["S"]
    after = {"pk": {"S": "batch_x"}, "sk": {"S": line_sk(29)}}
    stubber.add_response(
        "query", {"Items": _items(0, 30), "LastEvaluatedKey": after}, _query(first, 50)
    )
    stubber.add_response("query", {"Items": _items(30, 20)}, _query(first, 20, after))
    store = DynamoDBWorkStore(TABLE, client)
    assert len(list(store.results("batch_x", limit=50))) == 50


def test_all_results_come_a_page_at_a_time_as_they_are_consumed(
    dynamodb: tuple[Any, Stubber],
) -> None:
    client, stubber = dynamodb
    first = _items(0, 1)[0]["sk"]["S"]
    after = {"pk": {"S": "batch_x"}, "sk": {"S": line_sk(RESULTS_PAGE - 1)}}
    page = {"Items": _items(0, RESULTS_PAGE), "LastEvaluatedKey": after}
    stubber.add_response("query", page, _query(first, RESULTS_PAGE))
    results = DynamoDBWorkStore(TABLE, client).results("batch_x")
    assert next(results).index == 0  # the first page read; the second not yet
    stubber.assert_no_pending_responses()
    stubber.add_response(
        "query", {"Items": _items(RESULTS_PAGE, 3)}, _query(first, RESULTS_PAGE, after)
    )
    assert sum(1 for _ in results) == RESULTS_PAGE - 1 + 3


class Recording:
    """The S3 calls an output file makes, bodies counted, not kept."""

    def __init__(self, fail_at_part: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self._fail_at_part = fail_at_part

    def put_object(self, **call: Any) -> dict[str, Any]:
        self.calls.append(("put", len(call["Body"])))
        return {}

    def create_multipart_upload(self, **call: Any) -> dict[str, Any]:
        self.calls.append(("create", 0))
        return {"UploadId": "u1"}

    def upload_part(self, **call: Any) -> dict[str, Any]:
        if call["PartNumber"] == self._fail_at_part:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "UploadPart")
        self.calls.append(("part", len(call["Body"])))
        return {"ETag": f'"{call["PartNumber"]}"'}

    def complete_multipart_upload(self, **call: Any) -> dict[str, Any]:
        self.calls.append(("complete", len(call["MultipartUpload"]["Parts"])))
        return {}

    def abort_multipart_upload(self, **call: Any) -> dict[str, Any]:
        self.calls.append(("abort", 0))
        return {}


def _lines(total_bytes: int, line_bytes: int = 1000) -> Iterator[bytes]:
    for _ in range(total_bytes // line_bytes):
        yield b"x" * (line_bytes - 1) + b"\n"


def test_a_small_output_is_one_put() -> None:
    s3 = Recording()
    S3BatchFiles("bucket", 300, client=s3).write_output("batches/b/output.jsonl", _lines(10_000))  # type: ignore[arg-type]
    assert s3.calls == [("put", 10_000)]


def test_a_large_output_is_uploaded_in_parts_as_it_is_rendered() -> None:
    s3 = Recording()
    total = 2 * PART_BYTES + 123_000  # in lines of 1,000 bytes: a little less
    S3BatchFiles("bucket", 300, client=s3).write_output("batches/b/output.jsonl", _lines(total))  # type: ignore[arg-type]
    kinds = [kind for kind, _ in s3.calls]
    assert kinds == ["create", "part", "part", "part", "complete"]
    sizes = [size for kind, size in s3.calls if kind == "part"]
    assert sum(sizes) == total // 1000 * 1000
    assert all(PART_BYTES <= size < PART_BYTES + 1000 for size in sizes[:-1])


def test_a_failed_part_aborts_the_upload_and_says_so() -> None:
    s3 = Recording(fail_at_part=2)
    with pytest.raises(StorageError):
        S3BatchFiles("bucket", 300, client=s3).write_output("k", _lines(3 * PART_BYTES))  # type: ignore[arg-type]
    assert [kind for kind, _ in s3.calls] == ["create", "part", "abort"]


def test_job_results_left_unread_are_asked_again(
    dynamodb: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    # BatchGetItem leaves keys unread when throttled: asked again, consistently, until read
    monkeypatch.setattr("handler.aws.dynamo.time.sleep", lambda seconds: None)
    client, stubber = dynamodb
    one, two = (
        result_item(LineResult(job, 0, None, 200, {"data": []}, 5), line_sk(0))
        for job in ("imgjob_a", "imgjob_b")
    )
    keys = [{"pk": {"S": job}, "sk": {"S": line_sk(0)}} for job in ("imgjob_a", "imgjob_b")]
    left = {TABLE: {"Keys": keys[1:], "ConsistentRead": True}}
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [one]}, "UnprocessedKeys": left},
        {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}},
    )
    stubber.add_response("batch_get_item", {"Responses": {TABLE: [two]}}, {"RequestItems": left})
    found = work_lists.first_results(client, TABLE, ["imgjob_a", "imgjob_b"])
    assert sorted(found) == ["imgjob_a", "imgjob_b"]


def test_job_results_throttled_throughout_are_a_storage_error(
    dynamodb: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handler.aws.dynamo.time.sleep", lambda seconds: None)
    client, stubber = dynamodb
    keys = [{"pk": {"S": "imgjob_a"}, "sk": {"S": line_sk(0)}}]
    wanted = {TABLE: {"Keys": keys, "ConsistentRead": True}}
    for _ in range(5):
        stubber.add_response(
            "batch_get_item", {"Responses": {}, "UnprocessedKeys": wanted}, {"RequestItems": wanted}
        )
    with pytest.raises(StorageError):
        work_lists.first_results(client, TABLE, ["imgjob_a"])
