"""Queued work as the API, its events and its webhooks show it: a batch (OpenAI's batch
object), an async job (with the synchronous call's answer once it succeeded), a batch's
output (OpenAI's batch output JSONL)."""

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from handler.core.records.work import FINISHED, BatchStatus, LineResult, Work
from handler.core.schemas import StoredImages
from handler.generation.delivery import Delivery


def describe(batch: Work) -> dict[str, Any]:
    """A batch as the API, its events and its webhooks show it (OpenAI's batch object, plus
    what it cost)."""
    view: dict[str, Any] = {
        "id": batch.id,
        "object": "batch",
        "endpoint": "/v1/images/generations",
        "status": batch.status,
        "created_at": batch.created_at,
        "completed_at": batch.finished_at if batch.status in FINISHED else None,
        "cancelled_at": batch.cancelled_at,
        "request_counts": {
            "total": batch.total,
            "completed": batch.succeeded,
            "failed": batch.failed,
        },
        "cost": batch.cost,
        "metadata": dict(batch.metadata),
        "output_key": batch.output_key,
        "errors": None,
    }
    if batch.error:
        view["errors"] = {
            "object": "list",
            "data": [{"code": "invalid_input", "message": batch.error}],
        }
    return view


JOB_STATUSES: Mapping[BatchStatus, str] = {
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "completed": "succeeded",
    "completed_with_errors": "failed",
    "failed": "failed",
}


def describe_job(
    job: Work, result: LineResult | None, answer: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An async job as ``GET /v1/images/jobs/{id}`` and its webhook show it: with, once it
    succeeded, ``result``, the body the synchronous call would have answered."""
    view: dict[str, Any] = {
        "id": job.id,
        "object": "image.generation.job",
        "status": JOB_STATUSES.get(job.status, "in_progress"),
        "created_at": job.created_at,
        "completed_at": job.finished_at,
        "cancelled_at": job.cancelled_at,
        "cost": job.cost,
        "result": answer,
        "error": None,
    }
    if job.cancelled_at is not None:  # before it started: it never will, and cost nothing
        view["status"] = "cancelled"
    elif result is not None and result.status_code is None:  # it never ran
        view["error"] = {
            "message": result.body["message"],
            "type": "server_error",
            "param": None,
            "code": result.body["code"],
        }
    elif result is not None and not result.succeeded:
        view["error"] = result.body["error"]
        view["status_code"] = result.status_code
    elif job.error:
        view["error"] = {"message": job.error, "type": "server_error", "param": None, "code": None}
    return view


def output_lines(
    results: Iterable[LineResult], sign: Callable[[str], str] | None = None
) -> Iterator[bytes]:
    """OpenAI's batch output, a line per result (in the order given: line order), as each
    result comes; images by object key, and by a URL from ``sign`` if one is given."""
    for result in results:
        yield json.dumps(_output_line(result, sign), separators=(",", ":")).encode() + b"\n"


def render_output(results: Iterable[LineResult], sign: Callable[[str], str] | None = None) -> str:
    return b"".join(output_lines(results, sign)).decode()


def _output_line(result: LineResult, sign: Callable[[str], str] | None = None) -> dict[str, Any]:
    if result.status_code is None:
        return {
            "id": result.request_id,
            "custom_id": result.custom_id,
            "response": None,
            "error": dict(result.body),
        }
    body = dict(result.body)
    if result.succeeded:
        body["data"] = [_output_image(item, sign) for item in body["data"]]
    return {
        "id": result.request_id,
        "custom_id": result.custom_id,
        "response": {
            "status_code": result.status_code,
            "request_id": result.request_id,
            "body": body,
        },
        "error": None,
    }


def _output_image(kept: Mapping[str, Any], sign: Callable[[str], str] | None) -> dict[str, Any]:
    key = kept.get("s3_key") or kept["url"]  # "url": results recorded before StoredImage
    image: dict[str, Any] = {"s3_key": key}
    if "seed" in kept:
        image["seed"] = kept["seed"]
    if sign is not None:
        image["url"] = sign(key)
    return image


def show_job(
    job: Work, result: LineResult | None, delivery: Delivery, response_format: str | None = None
) -> dict[str, Any]:
    """The job as its route and webhook show it: once it succeeded, with the body the
    synchronous call would have answered in ``response_format`` (the job's own unless
    given), its URLs signed afresh."""
    answer = None
    if result is not None and result.succeeded:
        kept = StoredImages.model_validate(result.body)
        answer = delivery.answer(kept, response_format or job.response_format).model_dump(
            mode="json", exclude_none=True
        )
    return describe_job(job, result, answer)
