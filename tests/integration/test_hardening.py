"""Client mistakes are 4xx with a code and the parameter, on every route and as batch lines;
idempotency records never clash; submissions are admitted like requests."""

import base64
import json
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handler import container, work_container
from handler.aws.clients import dynamodb_client
from handler.config import get_settings
from handler.core.records.work import MAX_INPUT_BYTES, LineResult, WorkItem
from handler.work.input import parse_line
from tests.image_samples import picture
from tests.support import assert_error, new_key, within_one_minute

URL = "/v1/images/generations"
EDITS = "/v1/images/edits"
SMALL = {"prompt": "a fox", "size": "256x256"}
# A lone surrogate: valid JSON, not Unicode text.
SURROGATE = "\\ud800"


def _raw(client: TestClient, path: str, body: bytes, auth: dict[str, str], **headers: str) -> Any:
    return client.post(
        path, content=body, headers={**auth, "Content-Type": "application/json", **headers}
    )


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("prompt", URL),
        ("negative_prompt", URL),
        ("user", URL),
        ("model", URL),
        ("prompt", EDITS),
    ],
)
def test_text_that_is_not_unicode_is_a_400_naming_it(
    client: TestClient, auth: dict[str, str], field: str, path: str
) -> None:
    others = {name: value for name, value in SMALL.items() if name != field}
    body = json.dumps(others)[:-1] + f', "{field}": "x{SURROGATE}"}}'
    if path == EDITS:
        body = body[:-1] + ', "image": "data:image/png;base64,AAAA"}'
    response = _raw(client, path, body.encode(), auth)
    assert response.status_code == 400, response.text
    assert_error(response.json(), type_="invalid_request_error", param=field, code="invalid_value")
    assert "surrogate" in response.json()["error"]["message"]


def test_an_async_job_with_such_text_is_refused_before_it_is_queued(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = f'{{"prompt": "x{SURROGATE}", "size": "256x256", "async": true}}'.encode()
    response = _raw(client, URL, body, auth)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prompt"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (f'{{"metadata": {{"k": "{SURROGATE}"}}}}', "metadata.k"),
        (f'{{"webhook_url": "https://example.com/{SURROGATE}"}}', "webhook_url"),
    ],
)
def test_batch_submissions_with_such_text_are_a_400(
    client: TestClient, auth: dict[str, str], body: str, param: str
) -> None:
    response = _raw(client, "/v1/batches", body.encode(), auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def _line(custom_id: str, prompt: str) -> str:
    return (
        f'{{"custom_id": "{custom_id}", "method": "POST", "url": "/v1/images/generations", '
        f'"body": {{"prompt": "{prompt}", "size": "256x256"}}}}'
    )


def test_batch_lines_with_such_text_are_line_errors_not_crashes() -> None:
    catalog = container.catalog()
    bad_id = parse_line("batch_x", 0, _line(f"a{SURROGATE}", "fox"), catalog, set())
    bad_prompt = parse_line("batch_x", 1, _line("b", f"fox{SURROGATE}"), catalog, set())
    assert isinstance(bad_id, LineResult)
    assert bad_id.body["code"] == "invalid_custom_id"
    assert isinstance(bad_prompt, LineResult)
    assert bad_prompt.status_code == 400
    assert bad_prompt.body["error"]["param"] == "prompt"
    assert isinstance(parse_line("batch_x", 2, _line("c", "fox"), catalog, set()), WorkItem)


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, {}, "nested too deeply"),
        (b'{"prompt": "a fox", "n": 1' + b"0" * 5000 + b"}", {}, "digits"),
        (zlib.compress(json.dumps(SMALL).encode()), {"Content-Encoding": "gzip"}, "gzip"),
        (
            '{"prompt": "föx"}'.encode("latin-1"),
            {"Content-Type": "application/json; charset=latin-1"},
            "latin-1",
        ),
        (b'{"prompt": "f\xff\xfeox"}', {}, "not UTF-8"),
        (b'{"prompt": "a fox", "guidance_scale": NaN}', {}, "NaN is not a JSON number"),
        (b'{"prompt": "a fox", "n": 1, "n": 2}', {}, 'the key "n" is given twice'),
        (b'{"prompt": "a fox", "n": 2', {}, None),
    ],
    ids=["depth", "number", "content-encoding", "charset", "utf-8", "nan", "twice", "truncated"],
)
@pytest.mark.parametrize("path", [URL, EDITS, "/v1/batches"])
def test_bodies_that_are_not_json_are_invalid_json(
    client: TestClient,
    auth: dict[str, str],
    path: str,
    body: bytes,
    headers: dict[str, str],
    reason: str | None,
) -> None:
    response = _raw(client, path, body, auth, **headers)
    assert response.status_code == 400, response.text
    assert_error(response.json(), type_="invalid_request_error", param=None, code="invalid_json")
    if reason is not None:
        assert reason in response.json()["error"]["message"]


def _files(count: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("image[]", (f"{i}.png", picture((8, 8)), "image/png")) for i in range(count)]


@pytest.mark.parametrize(
    ("files", "data", "code", "param"),
    [
        (_files(18), {"prompt": "x"}, "too_many_files", "image[]"),
        (_files(1), {f"f{i}": "x" for i in range(65)}, "too_many_fields", "f64"),
        (_files(1), {"prompt": "x" * 300_000}, "field_too_large", "prompt"),
    ],
    ids=["files", "fields", "part-size"],
)
def test_multipart_limits_name_the_field(
    client: TestClient,
    auth: dict[str, str],
    files: list[Any],
    data: dict[str, str],
    code: str,
    param: str,
) -> None:
    response = client.post(EDITS, headers=auth, files=files, data=data)
    assert response.status_code == 400, response.text
    assert_error(response.json(), type_="invalid_request_error", param=param, code=code)


def test_a_multipart_form_in_another_charset_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    boundary = "b"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="+2AA-"\r\n\r\nx\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    response = client.post(
        EDITS,
        headers={
            **auth,
            "Content-Type": f"multipart/form-data; boundary={boundary}; charset=utf-7",
        },
        content=body,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_multipart"


def test_an_empty_model_is_an_error_not_the_default(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.post(URL, headers=auth, json={**SMALL, "model": ""})
    assert response.status_code == 400
    assert_error(
        response.json(), type_="invalid_request_error", param="model", code="invalid_value"
    )
    listed = client.get("/v1/models/", headers=auth)
    assert listed.status_code == 404
    assert listed.json()["error"]["code"] == "unknown_url"


def test_edit_parameters_that_cannot_be_honoured_are_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    files = _files(1)
    # input_fidelity: its values only, taken (the catalog says the preview ignores it)
    odd = client.post(
        EDITS, headers=auth, files=files, data={"prompt": "x", "input_fidelity": "exact"}
    )
    assert odd.status_code == 400
    assert odd.json()["error"]["param"] == "input_fidelity"
    hook = client.post(
        EDITS,
        headers=auth,
        files=files,
        data={"prompt": "x", "size": "256x256", "webhook_url": "https://example.com/h"},
    )
    assert hook.status_code == 400
    assert hook.json()["error"]["param"] == "webhook_url"
    low = client.post(
        EDITS,
        headers=auth,
        files=files,
        data={"prompt": "x", "size": "256x256", "input_fidelity": "low"},
    )
    assert low.status_code == 200, low.text


def test_distinct_idempotency_keys_never_share_a_record(
    client: TestClient, auth: dict[str, str]
) -> None:
    # Given an async submission under "k" (Prefer: the body is the same as a sync call's)
    queued = client.post(
        URL, headers={**auth, "Idempotency-Key": "k", "Prefer": "respond-async"}, json=SMALL
    )
    assert queued.status_code == 202
    # When a synchronous call with the same body uses a key that spelled the same record
    # before ("async:k")
    sync = client.post(URL, headers={**auth, "Idempotency-Key": "async:k"}, json=SMALL)
    # Then it is a generation of its own, not the job replayed
    assert sync.status_code == 200, sync.text
    assert sync.json()["object"] == "image.generation"
    assert "idempotent-replayed" not in sync.headers


def test_a_batch_submission_is_idempotent(client: TestClient, auth: dict[str, str]) -> None:
    lines = [json.loads(_line("a", "a fox"))]
    first = client.post(
        "/v1/batches", headers={**auth, "Idempotency-Key": "b1"}, json={"input": lines}
    )
    again = client.post(
        "/v1/batches", headers={**auth, "Idempotency-Key": "b1"}, json={"input": lines}
    )
    other = client.post("/v1/batches", headers={**auth, "Idempotency-Key": "b1"}, json={})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.usefixtures("aws")
def test_a_key_that_cannot_pay_for_one_line_cannot_submit_a_batch(client: TestClient) -> None:
    # Given a key whose balance is under the cheapest line the catalog serves
    _, broke = new_key(balance=50)
    # When it submits a batch, inline or for an upload
    inline = client.post(
        "/v1/batches", headers=broke, json={"input": [json.loads(_line("a", "x"))]}
    )
    upload = client.post("/v1/batches", headers=broke, json={})
    # Then both are 402 and nothing was recorded
    for response in (inline, upload):
        assert response.status_code == 402, response.text
        assert response.json()["error"]["code"] == "insufficient_quota"
    assert dynamodb_client().scan(TableName=get_settings().work_table)["Count"] == 0


@pytest.mark.usefixtures("aws")
def test_submissions_count_against_the_request_rate_and_report_it(client: TestClient) -> None:
    # Given a key allowed two requests a minute, in one minute's window
    within_one_minute()
    _, headers = new_key(balance=10**9, rpm=2)
    # When it submits a batch and an async job, then one more of either
    batch = client.post("/v1/batches", headers=headers, json={})
    job = client.post(URL, headers={**headers, "Prefer": "respond-async"}, json=SMALL)
    third = client.post("/v1/batches", headers=headers, json={})
    # Then the first two carried the window, spent, and the third is a 429
    assert batch.status_code == 200
    assert batch.headers["x-ratelimit-remaining-requests"] == "1"
    assert job.status_code == 202
    assert job.headers["x-ratelimit-remaining-requests"] == "0"
    assert third.status_code == 429
    assert "retry-after" in third.headers


def test_the_upload_form_holds_the_batch_limit_at_s3(
    client: TestClient, auth: dict[str, str]
) -> None:
    batch = client.post("/v1/batches", headers=auth, json={}).json()
    policy = json.loads(base64.b64decode(batch["upload_fields"]["policy"]))
    assert ["content-length-range", 1, MAX_INPUT_BYTES] in policy["conditions"]
    assert batch["upload_fields"]["key"].endswith(f"{batch['id']}.jsonl")


def test_the_preview_takes_what_the_seed_providers_document(
    client: TestClient, auth: dict[str, str]
) -> None:
    long = client.post(URL, headers=auth, json={**SMALL, "prompt": "a" * 32_000, "steps": 100})
    assert long.status_code == 200, long.text
    model = client.get("/v1/models/imagegate-preview", headers=auth).json()
    assert (model["max_prompt_chars"], model["steps"]["max"]) == (32_000, 100)
    over = client.post(URL, headers=auth, json={**SMALL, "prompt": "a" * 32_001})
    assert over.status_code == 400


def test_deployed_webhook_hosts_must_resolve_to_public_addresses(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DNS answers: one name leads to the instance metadata service, one to the internet
    answers = {"metadata.example": ["169.254.169.254"], "hooks.example": ["93.184.216.34"]}
    monkeypatch.setattr(work_container, "resolve_host", lambda host, port: answers.get(host, []))
    container.reset()
    job = {**SMALL, "async": True}
    # When async jobs and batches name them
    metadata = client.post(
        URL, headers=auth, json={**job, "webhook_url": "https://metadata.example/x"}
    )
    batch = client.post(
        "/v1/batches", headers=auth, json={"webhook_url": "https://metadata.example/x"}
    )
    literal = client.post(
        URL, headers=auth, json={**job, "webhook_url": "https://[::ffff:10.0.0.1]/x"}
    )
    public = client.post(URL, headers=auth, json={**job, "webhook_url": "https://hooks.example/x"})
    # Then only the public one is taken
    for refused in (metadata, batch, literal):
        assert refused.status_code == 400, refused.text
        assert_error(
            refused.json(), type_="invalid_request_error", param="webhook_url", code="invalid_value"
        )
    assert public.status_code == 202, public.text
