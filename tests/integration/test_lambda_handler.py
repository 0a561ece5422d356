"""The Lambda entry point, driven with the sample events in events/."""

import asyncio
import base64
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from handler.core.keys import hash_secret, parse_key
from handler.main.api import lambda_handler as api_handler
from tests.support import (
    SAMPLE_EVENT_KEY,
    FakeLambdaContext,
    assert_error,
    load_event,
    open_image,
)


def _invoke(
    name: str, context: FakeLambdaContext | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    event = load_event(name)
    response = api_handler(event, context or FakeLambdaContext())
    return event, response


@pytest.mark.usefixtures("sample_event_key")
def test_generate_with_url(log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    event, response = _invoke("api_generate_url")
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    # The API Gateway request id is the response id, the header and the log correlation id.
    request_id = event["requestContext"]["requestId"]
    assert response["headers"]["x-request-id"] == body["id"] == request_id
    assert [item["seed"] for item in body["data"]] == [42, 43]
    assert all("X-Amz-Expires=300" in item["url"] for item in body["data"])
    generated = next(line for line in log_lines() if line["message"] == "images generated")
    assert generated["correlation_id"] == request_id
    assert generated["function_name"] == "imagegate-ApiFunction"


@pytest.mark.usefixtures("sample_event_key")
def test_generate_with_b64_json() -> None:
    _, response = _invoke("api_generate_b64")
    assert response["statusCode"] == 200
    assert not response["isBase64Encoded"]
    [item] = json.loads(response["body"])["data"]
    image = open_image(base64.b64decode(item["b64_json"]))
    assert (image.size, image.format, item["seed"]) == ((256, 256), "WEBP", 7)


@pytest.mark.usefixtures("sample_event_key")
def test_bad_key() -> None:
    event, response = _invoke("api_bad_key")
    assert response["statusCode"] == 401
    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]
    assert_error(
        json.loads(response["body"]),
        type_="authentication_error",
        param=None,
        code="invalid_api_key",
    )


@pytest.mark.usefixtures("sample_event_key")
def test_bad_body() -> None:
    _, response = _invoke("api_bad_body")
    assert response["statusCode"] == 400
    assert_error(
        json.loads(response["body"]), type_="invalid_request_error", param=None, code="invalid_json"
    )


@pytest.mark.usefixtures("sample_event_key")
def test_each_invocation_makes_its_own_event_loop_and_leaves_none() -> None:
    # Given a thread with no event loop, as Lambda's runtime sets none
    seen: list[object] = []

    def invoke_twice() -> None:
        seen.extend(_invoke("api_bad_key")[1]["statusCode"] for _ in range(2))
        try:
            seen.append(asyncio.get_event_loop())
        except RuntimeError:  # none is current
            seen.append(None)

    # When the handler runs there, twice
    thread = threading.Thread(target=invoke_twice)
    thread.start()
    thread.join()
    # Then both invocations are answered, and no loop is left set on the thread
    assert seen == [401, 401, None]


@pytest.mark.usefixtures("sample_event_key")
def test_status_metrics_are_emitted(capsys: pytest.CaptureFixture[str]) -> None:
    _invoke("api_bad_key")
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert any("Http4xx" in _metric_names(blob) for blob in emitted)


def _metric_names(blob: dict[str, Any]) -> set[str]:
    return {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


@pytest.mark.usefixtures("sample_event_key")
def test_spend_is_one_metric_object_by_service_and_by_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, response = _invoke("api_generate_url")
    cost = json.loads(response["body"])["cost"]
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    # Once each: the alarms' sums would count a second copy.
    [spend] = [blob for blob in emitted if _metric_names(blob) & {"Images", "Spend"}]
    assert _metric_names(spend) == {"Images", "Spend", "OperatorCost", "NegativeMargin"}
    [directive] = spend["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service"], ["service", "model", "backend"]]
    dimensions = (spend["service"], spend["model"], spend["backend"])
    assert dimensions == ("imagegate", "imagegate-preview", "preview")
    assert (spend["Images"], spend["Spend"]) == ([2.0], [float(cost)])
    # the preview backend costs the operator nothing: no loss
    assert (spend["OperatorCost"], spend["NegativeMargin"]) == ([0.0], [0.0])
    assert any("Http2xx" in _metric_names(blob) for blob in emitted)


@pytest.mark.usefixtures("sample_event_key")
def test_no_log_line_holds_a_key_secret_or_its_hash(
    log_lines: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    secret = parse_key(SAMPLE_EVENT_KEY).secret
    for name in ("api_generate_url", "api_generate_b64", "api_bad_key", "api_bad_body"):
        _invoke(name)
    written = json.dumps(log_lines()) + capsys.readouterr().out
    assert "request failed" in written  # the failures were logged...
    for leaked in (secret, hash_secret(secret), "x" * 43, SAMPLE_EVENT_KEY):
        assert leaked not in written  # ...without the key


@pytest.mark.usefixtures("sample_event_key")
def test_a_crashing_backend_is_one_structured_log_and_a_500(
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a backend that fails in a way nobody planned for
    from handler.backends.preview import PreviewBackend

    def broken(*args: object) -> None:
        raise OSError("decoder exploded")

    monkeypatch.setattr(PreviewBackend, "generate", broken)
    # When the sample event is replayed
    event, response = _invoke("api_generate_url")
    # Then the client gets OpenAI's 500, told not to retry, with the request id
    assert response["statusCode"] == 500
    assert response["headers"]["x-should-retry"] == "false"
    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]
    assert_error(json.loads(response["body"]), type_="server_error", param=None, code=None)
    # And the error is logged once, structured and correlated, not again by Mangum
    [logged] = [line for line in log_lines() if line["message"] == "unhandled error"]
    assert logged["correlation_id"] == event["requestContext"]["requestId"]
    assert "decoder exploded" in logged["exception"]
    assert not [r for r in caplog.records if r.name.startswith("mangum")]


@pytest.mark.parametrize(
    ("lambda_remaining_ms", "gateway_waited_s", "expected_seconds"),
    [
        (60_000, None, 29 - 3),  # API Gateway's 29 s, less the 3 s margin
        (10_000, None, 10 - 3),  # Lambda's remaining time, when nearer
        (60_000, 8, 29 - 3 - 8),  # the 8 s API Gateway held it before us (a cold start)
    ],
)
@pytest.mark.usefixtures("sample_event_key")
def test_the_backend_gets_the_nearer_deadline(
    monkeypatch: pytest.MonkeyPatch,
    lambda_remaining_ms: int,
    gateway_waited_s: float | None,
    expected_seconds: float,
) -> None:
    import time

    from handler.backends.preview import PreviewBackend

    seen: list[float] = []
    taken: list[float] = []
    render = PreviewBackend.generate

    def recording(self: PreviewBackend, job: Any, deadline: Any) -> Any:
        seen.append(deadline.remaining())
        taken.append(time.monotonic() - start)
        return render(self, job, deadline)

    monkeypatch.setattr(PreviewBackend, "generate", recording)
    event = load_event("api_generate_b64")  # its 2015 stamp is ignored as stale
    if gateway_waited_s is not None:
        event["requestContext"]["requestTimeEpoch"] = int((time.time() - gateway_waited_s) * 1000)
    start = time.monotonic()
    response = api_handler(event, FakeLambdaContext(remaining_ms=lambda_remaining_ms))
    assert response["statusCode"] == 200
    # What the request itself took before the backend ran counts against it, however long
    # a loaded machine made that (the 0.1 s: the gateway stamp's whole milliseconds).
    [remaining], [elapsed] = seen, taken
    assert expected_seconds - elapsed - 0.1 < remaining <= expected_seconds


@pytest.mark.usefixtures("sample_event_key")
@pytest.mark.parametrize(
    ("path", "public_path", "prefix"),
    [
        # execute-api: the stage is stripped from path, kept in requestContext.path
        ("/v1/images/generations", "/prod/v1/images/generations", "/prod"),
        # a custom domain with a base path mapping: nothing is stripped from either
        ("/images/v1/images/generations", "/images/v1/images/generations", "/images"),
        # a custom domain mapped at its root
        ("/v1/images/generations", "/v1/images/generations", ""),
    ],
    ids=["execute-api", "custom-domain-base-path", "custom-domain-root"],
)
def test_a_jobs_location_is_where_the_client_reaches_it(
    path: str, public_path: str, prefix: str
) -> None:
    # Given an async generation as API Gateway hands it over
    event = load_event("api_generate_url")
    event["path"] = path
    event["requestContext"]["path"] = public_path
    event["headers"]["Prefer"] = "respond-async"
    event["multiValueHeaders"]["Prefer"] = ["respond-async"]
    # When it is submitted
    response = api_handler(event, FakeLambdaContext())
    # Then it was routed, and its Location is under the same public prefix
    assert response["statusCode"] == 202, response["body"]
    job_id = json.loads(response["body"])["id"]
    assert response["headers"]["location"] == f"{prefix}/v1/images/jobs/{job_id}"
