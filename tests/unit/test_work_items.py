"""Batches and async jobs are two types, stored as they always were: an item's ``kind`` says
which type it reads back as, and each type writes the ``kind`` and list partition it did."""

from typing import Any

import pytest

from handler.core.records.work import Batch, Job, WorkItem
from handler.stores.work_items import batch_item, batch_of

NOW = 1_795_256_000


def _stored(kind: str, work_id: str) -> dict[str, Any]:
    """An item as the table holds it, written before there were two types."""
    return {
        "pk": {"S": work_id},
        "sk": {"S": "batch"},
        "kind": {"S": kind},
        "key_id": {"S": "key1"},
        "status": {"S": "in_progress"},
        "created_at": {"N": str(NOW)},
        "total": {"N": "1"},
        "succeeded": {"N": "0"},
        "failed": {"N": "0"},
        "cost": {"N": "0"},
        "remaining": {"N": "1"},
        "metadata": {"M": {}},
        "expires_at": {"N": str(NOW + 45 * 24 * 3600)},
        "owner": {"S": f"key1#{kind}"},
        "listed": {"S": f"{NOW * 1000:013d}#{work_id}"},
    }


@pytest.mark.parametrize(
    ("kind", "work_id", "type_"), [("batch", "batch_1", Batch), ("job", "imgjob_1", Job)]
)
def test_an_item_reads_back_as_its_kind_and_is_written_as_it_was(
    kind: str, work_id: str, type_: type[Batch | Job]
) -> None:
    item = _stored(kind, work_id)
    work = batch_of(item)
    assert type(work) is type_
    assert work == type_(work_id, "key1", "in_progress", NOW, total=1)
    assert batch_item(work) == item


def test_each_type_announces_and_cancels_as_it_did() -> None:
    batch = Batch("batch_1", "key1", "completed", NOW)
    job = Job("imgjob_1", "key1", "completed", NOW)
    assert (batch.detail_type, batch.webhook_type("completed")) == (
        "Batch Finished",
        "batch.completed",
    )
    assert (job.detail_type, job.webhook_type("completed")) == (
        "Image Job Finished",
        "job.completed",
    )
    assert batch.cancelled_line(WorkItem("batch_1", 3, "c", {})).body == {
        "code": "batch_cancelled",
        "message": "The batch was cancelled before this line ran.",
    }
    assert job.cancelled_line(WorkItem("imgjob_1", 0, None, {})).body == {
        "code": "job_cancelled",
        "message": "The job was cancelled before it ran.",
    }
    assert (batch.output_file, job.output_file) == ("batches/batch_1/output.jsonl", None)
    assert batch.images_prefix(3) == "batches/batch_1/images/3"
    assert job.images_prefix(0) == "images/2026/11/21/imgjob_1"
