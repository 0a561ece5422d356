"""The local API Gateway: settings read from template.yaml, the proxy events it builds (held
against the samples in events/), and the answers API Gateway gives by itself."""

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths

from handler.cli.gateway import Answer, Gateway, RestApi, proxy_event
from handler.cli.sqs_event import LambdaContext
from handler.cli.template import Template
from handler.observability import logger
from tests.support import ROOT, load_event

API = RestApi.from_template(Template.load(ROOT / "template.yaml"))
OK = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}


class Recorder:
    """A handler that records what it was called with and answers what it is told."""

    def __init__(self, answer: Any = OK):
        self.answer = answer
        self.calls: list[tuple[dict[str, Any], LambdaContext]] = []

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        self.calls.append((event, context))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def _gateway(handler: Any, api: RestApi = API) -> Gateway:
    return Gateway(api, {"ApiFunction": handler})


def _send(
    gateway: Gateway,
    path: str = "/prod/v1/models",
    *,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = b"",
    query: str = "",
) -> Answer:
    return gateway.handle(method, path, query, headers or [], body, "127.0.0.1")


def _error(answer: Answer) -> dict[str, Any]:
    assert isinstance(answer.body, bytes)
    error: dict[str, Any] = json.loads(answer.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def _header(answer: Answer, name: str) -> str | None:
    return next((v for n, v in answer.headers if n.lower() == name.lower()), None)


def _assert_request_id(answer: Answer) -> None:
    """A gateway-made answer names its request as the function's answers do (the id of
    its access log line), once."""
    ids = [v for n, v in answer.headers if n.lower() == "x-request-id"]
    assert ids == [answer.request_id], answer.headers
    assert _header(answer, "x-amzn-RequestId") == answer.request_id


def test_the_template_gives_the_stage_routes_binary_types_and_timeouts() -> None:
    assert API.stage == "prod"
    assert API.binary_media_types == ("multipart/form-data", "image/*")
    assert {(route.resource, route.method, route.function) for route in API.routes} == {
        ("/", "ANY", "ApiFunction"),
        ("/{proxy+}", "ANY", "ApiFunction"),
        ("/admin/{proxy+}", "ANY", "AdminApiFunction"),
        ("/v1/me", "ANY", "MemberApiFunction"),
        ("/v1/me/{proxy+}", "ANY", "MemberApiFunction"),
        ("/v1/account/{proxy+}", "ANY", "MemberApiFunction"),
        ("/v1/images/generations", "POST", "StreamFunction"),
        ("/v1/images/edits", "POST", "StreamFunction"),
    }
    for route in API.routes:
        assert (route.integration_timeout_ms, route.function_timeout_seconds) == (29000, 30)
        if route.function == "StreamFunction":  # behind the Lambda Web Adapter, streamed
            assert (route.handler, route.web_app) == ("run.sh", "handler.main.stream:stream_app")
        else:
            module = {"AdminApiFunction": "admin_api", "MemberApiFunction": "member_api"}
            entry = f"handler.main.{module.get(route.function, 'api')}.lambda_handler"
            assert (route.handler, route.web_app) == (entry, None)
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "REQUEST_TOO_LARGE", "INTEGRATION_TIMEOUT"} <= set(
        API.responses
    )


def _same_shape(built: Any, sample: Any, where: str = "event") -> None:
    """Every field of the sample is in the built event, with a value of the same kind."""
    if isinstance(sample, dict):
        assert isinstance(built, dict), where
        for key, value in sample.items():
            assert key in built, f"{where}.{key} is missing"
            _same_shape(built[key], value, f"{where}.{key}")
    elif sample is not None and built is not None:
        assert type(built) is type(sample), where


@pytest.mark.parametrize("name", ["api_generate_url", "api_generate_b64", "api_bad_body"])
def test_events_match_the_samples(name: str) -> None:
    # Given the request a sample event was made from
    sample = load_event(name)
    headers = [
        (key, value) for key, values in sample["multiValueHeaders"].items() for value in values
    ]
    body = (sample["body"] or "").encode()
    route, parameters = API.route(sample["path"], sample["httpMethod"]) or (None, {})
    assert route is not None
    # When the gateway builds its event
    built = proxy_event(
        API,
        route,
        parameters,
        method=sample["httpMethod"],
        path=sample["path"],
        query="",
        headers=headers,
        body=body,
        source_ip="203.0.113.10",
        request_id="id",
        received=1428582896.0,
    )
    # Then it has every field of API Gateway's, and the same routing, stage and body
    _same_shape(built, sample)
    for field in ("resource", "path", "httpMethod", "pathParameters", "body", "isBase64Encoded"):
        assert built[field] == sample[field], field
    for field in ("path", "resourcePath", "stage", "httpMethod", "requestTimeEpoch"):
        assert built["requestContext"][field] == sample["requestContext"][field], field
    assert built["headers"] == sample["headers"]
    assert built["multiValueHeaders"] == sample["multiValueHeaders"]
    assert built["requestContext"]["identity"]["sourceIp"] == "203.0.113.10"


def test_query_strings_keep_every_value_and_the_last_as_the_single() -> None:
    recorder = Recorder()
    _send(_gateway(recorder), "/prod/v1/usage", query="a=1&a=2&b=x%20y&empty=")
    event = recorder.calls[0][0]
    assert event["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {
        "a": ["1", "2"],
        "b": ["x y"],
        "empty": [""],
    }
    _send(_gateway(recorder), "/prod/v1/usage")
    assert recorder.calls[1][0]["queryStringParameters"] is None


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("multipart/form-data; boundary=abc", True),
        ("Multipart/Form-Data; boundary=abc", True),
        ("application/json", False),
        (None, False),
    ],
)
def test_bodies_are_base64_exactly_for_the_binary_media_types(
    content_type: str | None, binary: bool
) -> None:
    recorder = Recorder()
    body = b"\x89PNG\r\n\x1a\n\xff\xfe bytes"
    headers = [("Content-Type", content_type)] if content_type else []
    _send(
        _gateway(recorder), "/prod/v1/images/variations", method="POST", headers=headers, body=body
    )
    event = recorder.calls[0][0]
    assert event["isBase64Encoded"] is binary
    if binary:
        assert base64.b64decode(event["body"]) == body
    else:  # text: what is not UTF-8 does not survive, as deployed
        assert event["body"] == body.decode("utf-8", errors="replace")


def test_a_bodiless_request_has_a_null_body() -> None:
    recorder = Recorder()
    _send(_gateway(recorder))
    assert (recorder.calls[0][0]["body"], recorder.calls[0][0]["isBase64Encoded"]) == (None, False)


def test_the_stage_is_in_the_path_and_the_context() -> None:
    recorder = Recorder()
    _send(_gateway(recorder), "/prod/v1/models/flux-schnell")
    event = recorder.calls[0][0]
    assert (event["path"], event["resource"]) == ("/v1/models/flux-schnell", "/{proxy+}")
    assert event["pathParameters"] == {"proxy": "v1/models/flux-schnell"}
    assert event["requestContext"]["path"] == "/prod/v1/models/flux-schnell"
    _send(_gateway(recorder), "/prod")
    assert (recorder.calls[1][0]["resource"], recorder.calls[1][0]["path"]) == ("/", "/")


@pytest.mark.parametrize("path", ["/v1/models", "/", "/staging/v1/models"])
def test_a_path_outside_the_stage_is_a_403_naming_the_base_url(path: str) -> None:
    recorder = Recorder()
    answer = _send(_gateway(recorder), path)
    assert answer.status == 403
    assert _header(answer, "x-amzn-ErrorType") == "ForbiddenException"
    error = _error(answer)
    assert (error["type"], error["code"]) == ("invalid_request_error", "wrong_base_url")
    assert error["message"].endswith("the base URL is http://localhost/prod/v1")
    assert not recorder.calls


def test_the_context_counts_down_from_the_function_timeout() -> None:
    recorder = Recorder()
    _send(_gateway(recorder))
    context = recorder.calls[0][1]
    assert 29_000 < context.get_remaining_time_in_millis() <= 30_000
    assert context.function_name == "ApiFunction"
    assert context.memory_limit_in_mb == "1024"


def test_a_body_over_10_mb_is_413_before_the_function_runs() -> None:
    recorder = Recorder()
    # The HTTP server reads no body over the limit: it hands the gateway None.
    answer = _send(_gateway(recorder), method="POST", body=None)
    assert answer.status == 413
    assert _error(answer)["code"] == "payload_too_large"
    _assert_request_id(answer)
    assert not recorder.calls


def test_a_binary_body_whose_event_is_over_lambdas_6_mb_is_413_before_the_function() -> None:
    # Given a multipart body under API Gateway's 10 MB that is over 6 MB once base64-encoded
    recorder = Recorder()
    body = b"x" * 4_800_000
    headers = [("Content-Type", "multipart/form-data; boundary=b")]
    # When it is sent
    answer = _send(_gateway(recorder), method="POST", headers=headers, body=body)
    # Then Lambda would not take the event: the function does not run
    assert answer.status == 413
    assert _error(answer)["code"] == "payload_too_large"
    assert not recorder.calls
    # And the same bytes as text fit
    text = _send(_gateway(recorder), method="POST", body=body)
    assert text.status == 200


def test_a_path_no_route_takes_is_the_missing_token_response() -> None:
    # Given an API whose only route is one literal path
    only = replace(API, routes=(replace(API.routes[0], resource="/health", method="GET"),))
    recorder = Recorder()
    # When another path, or another method, is asked for
    answers = [
        _send(_gateway(recorder, only), "/prod/v1/models"),
        _send(_gateway(recorder, only), "/prod/health", method="POST"),
    ]
    # Then API Gateway answers by itself, in the template's 4XX envelope
    for answer in answers:
        assert answer.status == 403
        assert _error(answer)["message"] == "Missing Authentication Token"
        assert _header(answer, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        _assert_request_id(answer)
    assert not recorder.calls
    assert _send(_gateway(recorder, only), "/prod/health").status == 200


def test_past_the_integration_timeout_is_a_504_that_says_not_to_retry() -> None:
    release = threading.Event()

    def slow(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        release.wait(timeout=30)
        return OK

    quick = replace(API, routes=tuple(replace(r, integration_timeout_ms=50) for r in API.routes))
    try:
        answer = _send(_gateway(slow, quick))
    finally:
        release.set()
    assert answer.status == 504
    assert _error(answer)["code"] == "backend_timeout"
    assert _header(answer, "x-should-retry") == "false"
    _assert_request_id(answer)


@pytest.mark.parametrize(
    "outcome",
    [
        RuntimeError("crashed"),
        {"body": "no status"},
        "not an object",
        {"statusCode": 200, "body": "x" * 6_291_557},  # over Lambda's response limit
    ],
    ids=["raises", "no-status", "not-an-object", "over-6-mb"],
)
def test_what_lambda_cannot_answer_is_a_502(outcome: Any) -> None:
    answer = _send(_gateway(Recorder(outcome)))
    assert answer.status == 502
    assert _error(answer)["message"] == "Internal server error"
    assert _header(answer, "x-should-retry") == "false"
    _assert_request_id(answer)


def test_the_function_answer_is_passed_through_with_multi_value_headers() -> None:
    answer = _send(
        _gateway(
            Recorder(
                {
                    "statusCode": 201,
                    "headers": {"x-one": "a", "x-both": "single"},
                    "multiValueHeaders": {"x-both": ["m1", "m2"]},
                    "body": '{"ok": true}',
                    "isBase64Encoded": False,
                }
            )
        )
    )
    assert (answer.status, answer.body) == (201, b'{"ok": true}')
    assert [(n, v) for n, v in answer.headers if n.startswith(("x-one", "x-both"))] == [
        ("x-one", "a"),
        ("x-both", "m1"),
        ("x-both", "m2"),
    ]
    assert _header(answer, "x-amzn-RequestId") == answer.request_id


@pytest.mark.parametrize(
    ("accept", "decoded"), [("multipart/form-data", True), ("application/json", False)]
)
def test_a_base64_answer_is_decoded_only_for_a_binary_accept(accept: str, decoded: bool) -> None:
    payload = b"\x00\x01binary"
    encoded = base64.b64encode(payload).decode()
    handler = Recorder({"statusCode": 200, "body": encoded, "isBase64Encoded": True})
    answer = _send(_gateway(handler), headers=[("Accept", accept)])
    assert answer.body == (payload if decoded else encoded.encode())


def test_log_lines_carry_their_own_invocations_ids_while_others_run(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # Given a handler decorated as the API's is, two invocations of which run at once
    both_in = threading.Barrier(2, timeout=10)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        both_in.wait()  # each has set the process-wide keys before either logs
        logger.info("inside", path=event["path"])
        both_in.wait()
        return OK

    gateway = _gateway(handler)
    answers: dict[str, Answer] = {}

    def send(path: str) -> None:
        answers[path] = _send(gateway, f"/prod{path}")

    threads = [threading.Thread(target=send, args=(path,)) for path in ("/a", "/b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each line names the request it belongs to
    lines = {line["path"]: line for line in log_lines() if line.get("message") == "inside"}
    for path, answer in answers.items():
        assert lines[path]["correlation_id"] == answer.request_id
        assert lines[path]["function_name"] == "ApiFunction"
    assert lines["/a"]["function_request_id"] != lines["/b"]["function_request_id"]
