"""The splitter streams its file: it checks it whole before queueing any line, queues it a
chunk at a time, and a notification redelivered after a split that died part-way resumes
where the split got to (moto in-process)."""

import dataclasses
import json
import os
from collections.abc import Sequence

import pytest

from handler import container, work_container
from handler.aws.clients import s3_client
from handler.core.records.work import WorkItem
from handler.work.splitter import SPLIT_CHUNK
from tests.integration.test_batch_handlers import queued
from tests.support import new_key

LINES = 2 * SPLIT_CHUNK + 137


class Crashing:
    """The work queue, dying after ``sends`` sends (the function's crash mid-split)."""

    def __init__(self, sends: int) -> None:
        self.left = sends

    def send(self, items: Sequence[WorkItem], *, delay_seconds: int = 0) -> None:
        if self.left == 0:
            raise RuntimeError("the splitter died here")
        self.left -= 1
        container.work_queue().send(items, delay_seconds=delay_seconds)


def _upload(key_id: str, lines: list[bytes]) -> str:
    key = f"batches/input/{key_id}/products.jsonl"
    s3_client().put_object(
        Bucket=os.environ["IMAGEGATE_IMAGES_BUCKET"], Key=key, Body=b"\n".join(lines) + b"\n"
    )
    return key


def _line(index: int, size: str = "256x256") -> bytes:
    body = {"prompt": f"p{index}", "size": size}
    return json.dumps({"custom_id": f"c{index}", "body": body}).encode()


@pytest.mark.usefixtures("aws")
def test_a_split_that_died_part_way_resumes_without_queueing_a_line_twice() -> None:
    key_id, _ = new_key(balance=10**9)
    # Every 100th line is one the API would refuse: its error is recorded, not queued
    key = _upload(key_id, [_line(i, "1x1" if i % 100 == 0 else "256x256") for i in range(LINES)])
    bucket = os.environ["IMAGEGATE_IMAGES_BUCKET"]
    crashing = dataclasses.replace(work_container.splitter(), queue=Crashing(sends=1))
    # When the split dies after its first chunk is queued and noted
    with pytest.raises(RuntimeError):
        crashing.split(bucket, key, "etag")
    first = queued()
    assert len(first) == SPLIT_CHUNK
    # And the notification comes again
    batch = work_container.splitter().split(bucket, key, "etag")
    # Then the rest is queued, each line once, and the batch knows all its lines
    rest = queued()
    indexes = [item.index for item in first + rest]
    assert len(indexes) == len(set(indexes)) == LINES - len(range(0, LINES, 100))
    assert batch is not None
    assert (batch.status, batch.total, batch.failed) == ("in_progress", LINES, 12)


@pytest.mark.usefixtures("aws")
def test_a_file_refused_at_its_last_line_queues_nothing() -> None:
    key_id, _ = new_key(balance=10**9)
    key = _upload(key_id, [_line(i) for i in range(SPLIT_CHUNK + 5)] + [b"\xff\xfe not utf-8"])
    batch = work_container.splitter().split(os.environ["IMAGEGATE_IMAGES_BUCKET"], key, "etag")
    assert batch is not None
    assert batch.status == "failed"
    assert batch.error == "The input file is not UTF-8 text."
    assert queued() == []


@pytest.mark.usefixtures("aws")
def test_line_ends_and_blank_lines_as_before() -> None:
    key_id, _ = new_key(balance=10**9)
    key = f"batches/input/{key_id}/crlf.jsonl"
    body = b"\xef\xbb\xbf" + _line(0) + b"\r\n\r\n  \n" + _line(1) + b"\r\n" + _line(2)
    s3_client().put_object(Bucket=os.environ["IMAGEGATE_IMAGES_BUCKET"], Key=key, Body=body)
    batch = work_container.splitter().split(os.environ["IMAGEGATE_IMAGES_BUCKET"], key, "etag")
    assert batch is not None
    assert (batch.total, batch.failed) == (3, 0)
    assert [item.custom_id for item in queued()] == ["c0", "c1", "c2"]


@pytest.mark.usefixtures("aws")
def test_a_file_over_the_limit_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    from handler.work import splitter

    monkeypatch.setattr(splitter, "MAX_INPUT_BYTES", 1000)
    key_id, _ = new_key(balance=10**9)
    key = _upload(key_id, [_line(i) for i in range(50)])
    batch = work_container.splitter().split(os.environ["IMAGEGATE_IMAGES_BUCKET"], key, "etag")
    assert batch is not None
    assert batch.status == "failed"
    assert batch.error is not None
    assert "over the 1000-byte limit" in batch.error
    assert queued() == []
