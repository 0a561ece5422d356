from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from handler.api.deps import (
    ApiKeyDep,
    CredentialsDep,
    DeadlineDep,
    ImageStoreDep,
    QueuedWorkDep,
    WebhookMasterSecretDep,
)
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.schemas import BatchCreate, BatchObject, WebhookSecret
from handler.core.batches import MAX_INPUT_BYTES, Batch, describe, render_output
from handler.core.billing import Meter
from handler.core.errors import NotFound
from handler.core.ports import Credentials
from handler.core.queued import UPLOAD_URL_SECONDS, QueuedWork, upload_key
from handler.core.webhooks import signing_secret

router = APIRouter(tags=["batches"], route_class=JsonBodyRoute)
# Lines per page of output: ten images each, with their URLs, stay far inside Lambda's 6 MB.
MAX_OUTPUT_PAGE = 200


@router.post("/batches", response_model=BatchObject, responses=ERROR_RESPONSES)
async def create_batch(
    request: Request,
    body: BatchCreate,
    credentials: CredentialsDep,
    queued: QueuedWorkDep,
    deadline: DeadlineDep,
) -> BatchObject:
    """Submit a batch: its lines inline, or leave ``input`` out and POST the file to the
    returned ``upload_url`` with its ``upload_fields``. Lines are charged as they run. An
    ``Idempotency-Key`` makes a retried submission answer the batch the first one made."""
    meter = Meter()
    try:
        batch = await run_in_threadpool(
            queued.submit_batch,
            credentials,
            lines=body.input,
            webhook_url=body.webhook_url,
            metadata=body.metadata or {},
            deadline=deadline,
            meter=meter,
            idempotency_key=request.headers.get("idempotency-key"),
        )
    finally:
        request.state.rate_window = meter.window
    return _view(batch, queued)


@router.get("/batches/{batch_id}", response_model=BatchObject, responses=ERROR_RESPONSES)
def get_batch(batch_id: str, credentials: CredentialsDep, queued: QueuedWorkDep) -> BatchObject:
    """Status, counts and cost; once finished, a presigned URL to ``output.jsonl``."""
    return _view(_batch(batch_id, credentials, queued), queued)


@router.post("/batches/{batch_id}/cancel", response_model=BatchObject, responses=ERROR_RESPONSES)
def cancel_batch(batch_id: str, credentials: CredentialsDep, queued: QueuedWorkDep) -> BatchObject:
    """Lines not yet started end as ``batch_cancelled`` and cost nothing."""
    return _view(queued.cancel(batch_id, credentials), queued)


@router.get(
    "/batches/{batch_id}/output",
    responses={**ERROR_RESPONSES, 200: {"content": {"application/jsonl": {}}}},
)
def get_batch_output(
    batch_id: str,
    credentials: CredentialsDep,
    queued: QueuedWorkDep,
    images: ImageStoreDep,
    start: Annotated[int, Query(ge=0, description="First line (its index) to return.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_OUTPUT_PAGE, description="Lines per page.")
    ] = MAX_OUTPUT_PAGE,
) -> Response:
    """The output, a page at a time, with a presigned ``url`` beside each image's
    ``s3_key``; lines recorded so far while the batch runs. ``x-next-start`` names the next
    page's ``start`` while there is one."""
    _batch(batch_id, credentials, queued)
    results = queued.jobs.results(batch_id, start=start, limit=limit + 1)
    page = render_output(results[:limit], sign=images.presign)
    response = Response(page, media_type="application/jsonl")
    if len(results) > limit:
        response.headers["x-next-start"] = str(results[limit].index)
    return response


@router.get("/webhooks/secret", response_model=WebhookSecret, responses=ERROR_RESPONSES)
def get_webhook_secret(key: ApiKeyDep, master: WebhookMasterSecretDep) -> WebhookSecret:
    """The secret this key's webhooks are signed with (Standard Webhooks)."""
    return WebhookSecret(key=signing_secret(master, key.key_id))


def _batch(batch_id: str, credentials: Credentials, queued: QueuedWork) -> Batch:
    batch = queued.get(batch_id, credentials)
    if batch.kind != "batch":
        raise NotFound(f"No batch with id '{batch_id}'.", code="not_found")
    return batch


def _view(batch: Batch, queued: QueuedWork) -> BatchObject:
    view = BatchObject.model_validate(describe(batch))
    if batch.status == "awaiting_upload":
        form = queued.files.upload_form(
            upload_key(batch), expires_in=UPLOAD_URL_SECONDS, max_bytes=MAX_INPUT_BYTES
        )
        view.upload_url, view.upload_fields = form.url, form.fields
    if batch.output_key:
        view.output_url = queued.files.download_url(batch.output_key)
    return view
