"""A warm request through the Lambda entry (``handler.main.api.lambda_handler``, an API Gateway
event) against the same AWS calls made directly, with AWS's latency put back in: every botocore
call takes as long as the service would (moto's handling within it, and left out where moto takes
longer than AWS would), and the backend is instant, so what is left is what imagegate adds.
Ratios, not times, are the result: they hold on any machine. Last, it splits a b64_json
request's own time (outside the AWS calls: before the reserve, between it and the settlement,
after) and times ``GET /health`` through the same entry, the floor under any route.

    .venv/bin/python bench/warm_request.py [--repeat 25] [--dynamodb-ms 6] [--s3-ms 25]
"""

import argparse
import base64
import io
import json
import logging
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import botocore.client

ROOT = Path(__file__).resolve().parents[1]
CASES = [("url", 1), ("url", 4), ("b64_json", 1)]
SIZE = 1024


class Context:
    function_name = "imagegate-ApiFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:imagegate-api"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Latency:
    """Each botocore call takes its service's latency, and is counted. moto's own handling
    happens within it; where moto takes longer than AWS would (its expression parser spends
    8 ms on imagegate's reserve, a call AWS answers as fast as any), the overrun is kept in
    ``overrun`` (the stretches of time calls ran past their latency, overlaps counted once)
    and left out of both paths' times: AWS's answer does not wait on moto."""

    def __init__(self, milliseconds: dict[str, float]):
        self.milliseconds = milliseconds
        self.calls: Counter[str] = Counter()
        self.overruns: list[tuple[float, float]] = []
        self.spans: list[tuple[float, float]] = []  # each call's start and end, latency included
        self._lock = threading.Lock()
        # botocore's one door for every call (a private method: this is a benchmark)
        self._original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

    def install(self) -> None:
        latency = self

        def call(client: Any, operation: str, params: Any) -> Any:
            service = client.meta.service_model.service_name
            with latency._lock:
                latency.calls[f"{service}.{operation}"] += 1
            started = time.perf_counter()
            due = started + latency.milliseconds.get(service, 0) / 1000
            try:
                return latency._original(client, operation, params)
            finally:
                ended = time.perf_counter()
                if ended > due:
                    with latency._lock:
                        latency.overruns.append((due, ended))
                else:
                    time.sleep(due - ended)
                with latency._lock:
                    latency.spans.append((started, time.perf_counter()))

        setattr(botocore.client.BaseClient, "_make_api_call", call)  # noqa: B010

    def overrun(self) -> float:
        """Seconds of moto's overruns since the last call, overlapping ones counted once."""
        with self._lock:
            spans, self.overruns = sorted(self.overruns), []
        total, reached = 0.0, float("-inf")
        for start, end in spans:
            start = max(start, reached)
            if end > start:
                total += end - start
                reached = end
        return total


def _medians_ms(runs: list[Callable[[], Any]], repeat: int, latency: Latency) -> list[float]:
    """Each run's median, less moto's overruns, the runs taken in turn: both meet the
    tables at the same size."""
    for run in runs:
        run()  # warm
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, taken in zip(runs, times, strict=True):
            latency.overrun()
            started = time.perf_counter()
            run()
            taken.append((time.perf_counter() - started - latency.overrun()) * 1000)
    return [statistics.median(taken) for taken in times]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--dynamodb-ms", type=float, default=6.0)
    parser.add_argument("--s3-ms", type=float, default=25.0)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    from moto import mock_aws
    from PIL import Image

    from handler.aws.clients import dynamodb_client, s3_client
    from handler.backends import makers
    from handler.cli.local import in_process_stack
    from handler.config import get_settings
    from handler.core.inference import GeneratedImage
    from handler.main import api as entry

    buffer = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE), (90, 120, 200)).save(buffer, "PNG")
    png = buffer.getvalue()

    class Instant:
        """A backend that has its images already: the GPU's time taken out."""

        def unserved(self, model: Any) -> None:
            return None

        def generate(self, spec: Any, deadline: Any) -> list[GeneratedImage]:
            return [GeneratedImage(png, "png", seed, SIZE, SIZE) for seed in spec.seeds]

    from handler.observability import logger

    # Each request's log lines and metrics are made as in Lambda, and written where no one
    # reads them: the metrics' EMF objects are printed, the results are written to `report`.
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    report, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    with mock_aws():
        key = in_process_stack("bench", ROOT / "infra" / "catalog.json")
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # the local stack's are off
        makers.preview = Instant  # the catalog's preview model, made instant
        settings = get_settings()
        event = json.loads((ROOT / "events" / "api_generate_url.json").read_text())
        event["headers"]["Authorization"] = f"Bearer {key.plaintext}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {key.plaintext}"]
        latency = Latency({"dynamodb": args.dynamodb_ms, "s3": args.s3_ms})
        latency.install()
        dynamodb, s3 = dynamodb_client(), s3_client()
        keys_table, usage_table = settings.keys_table, settings.usage_table
        ledger_table = settings.ledger_table
        bucket = settings.images_bucket
        uploads = ThreadPoolExecutor(max_workers=8)
        sequence = iter(range(10**9))

        def direct(n: int, inline: bool) -> None:
            """What a request must do at the least: reserve, store the images (in
            parallel) and sign their URLs, settle with its usage record and ledger entry."""
            request = f"direct-{next(sequence)}"
            dynamodb.update_item(
                TableName=keys_table,
                Key={"key_id": {"S": key.key_id}},
                UpdateExpression="SET reservations.#r = :c ADD balance :minus",
                ExpressionAttributeNames={"#r": request},
                ExpressionAttributeValues={":c": {"M": {}}, ":minus": {"N": "-4000"}},
                ReturnValues="ALL_NEW",
            )
            if inline:
                [base64.b64encode(png) for _ in range(n)]
            else:
                keys = [f"images/bench/{request}-{i}.png" for i in range(n)]
                list(
                    uploads.map(
                        lambda k: s3.put_object(
                            Bucket=bucket, Key=k, Body=png, ContentType="image/png"
                        ),
                        keys,
                    )
                )
                for k in keys:
                    s3.generate_presigned_url(
                        "get_object", Params={"Bucket": bucket, "Key": k}, ExpiresIn=300
                    )
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": keys_table,
                            "Key": {"key_id": {"S": key.key_id}},
                            "UpdateExpression": "REMOVE reservations.#r",
                            "ExpressionAttributeNames": {"#r": request},
                        }
                    },
                    {
                        "Put": {
                            "TableName": usage_table,
                            "Item": {
                                "key_id": {"S": key.key_id},
                                "sk": {"S": f"0#{request}"},
                            },
                        }
                    },
                    {  # the key's ledger entry of the charge
                        "Put": {
                            "TableName": ledger_table,
                            "Item": {
                                "key_id": {"S": key.key_id},
                                "sk": {"S": f"0#{request}"},
                            },
                        }
                    },
                ]
            )

        def through_lambda(n: int, response_format: str) -> None:
            body = {
                "prompt": "a lighthouse",
                "size": f"{SIZE}x{SIZE}",
                "n": n,
                "response_format": response_format,
            }
            event["body"] = json.dumps(body)
            response = entry.lambda_handler(event, Context())
            assert response["statusCode"] == 200, response["body"][:300]

        health_event = {
            **event,
            "resource": "/health",
            "path": "/health",
            "httpMethod": "GET",
            "body": None,
            "requestContext": {
                **event["requestContext"],
                "resourcePath": "/health",
                "path": "/prod/health",
                "httpMethod": "GET",
            },
        }

        outside: list[tuple[float, float, float]] = []

        def b64_json_split() -> None:
            """A b64_json request, its time outside the AWS calls kept: before the reserve,
            between it and the settlement, after the settlement."""
            latency.spans.clear()
            started = time.perf_counter()
            through_lambda(1, "b64_json")
            ended = time.perf_counter()
            (reserving, reserved), (settling, settled) = latency.spans
            outside.append((reserving - started, settling - reserved, ended - settled))

        def health() -> None:
            """The same entry for a route that does nothing: Powertools, Mangum, FastAPI and
            the middleware alone, the floor under any route's overhead."""
            response = entry.lambda_handler(health_event, Context())
            assert response["statusCode"] == 200, response["body"][:300]

        report.write(
            f"AWS latency injected: DynamoDB {args.dynamodb_ms} ms, S3 {args.s3_ms} ms a call; "
            f"instant backend; {SIZE}x{SIZE} PNG; median of {args.repeat}\n"
        )
        results = {}
        for response_format, n in CASES:
            inline = response_format == "b64_json"
            mine, bare = _medians_ms(
                [partial(through_lambda, n, response_format), partial(direct, n, inline)],
                args.repeat,
                latency,
            )
            latency.calls.clear()
            through_lambda(n, response_format)
            trips = sum(v for k, v in latency.calls.items() if k.startswith("dynamodb."))
            results[(response_format, n)] = mine
            report.write(
                f"  {response_format:8} n={n}: Lambda entry {mine:7.1f} ms, direct calls "
                f"{bare:7.1f} ms, ratio {mine / bare:.2f}x; DynamoDB round trips {trips}\n"
            )
        ratio = results[("url", 4)] / results[("url", 1)]
        report.write(f"  n=4 url / n=1 url through the Lambda entry: {ratio:.2f}x\n")
        # Taken in turn with a b64_json request and its direct calls, so it meets the CPU as
        # they leave it (its caches cooled by their waits), as their overhead does.
        _, bare, floor = _medians_ms(
            [b64_json_split, partial(direct, 1, True), health], args.repeat, latency
        )
        timed = outside[1:]  # the first is _medians_ms' warm-up
        before, between, after = (
            statistics.median(part) * 1000 for part in zip(*timed, strict=True)
        )
        report.write(
            f"  b64_json n=1 outside the AWS calls: {before:.2f} ms before the reserve, "
            f"{between:.2f} ms between it and the settlement, {after:.2f} ms after "
            f"({before + between + after:.2f} ms; 1.10x the direct calls leaves "
            f"{bare * 0.1:.2f} ms)\n"
        )
        report.write(f"  GET /health through the Lambda entry (no AWS call): {floor:.2f} ms\n")


if __name__ == "__main__":
    main()
