"""Streamed generations (``stream: true``) against the buffered request, on the preview
backend, through the deployed shape played locally: an HTTP client, the local API Gateway,
the streamed route's web app (as behind the Lambda Web Adapter) or the API function (Mangum).

DynamoDB and S3 are moto in-process. For each case it prints the median time to the first
partial image, to the completed event (the stream's end), and to the buffered answer of the
same request; then the largest buffered inline answer that fits Lambda's 6 MB response. Run:

    .venv/bin/python bench/streaming.py [--repeat 9]
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

ROOT = Path(__file__).resolve().parents[1]
CASES = [("1024x1024", 0), ("1024x1024", 2), ("1536x1024", 3), ("2048x1152", 2)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    repeat = parser.parse_args().repeat
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",  # read when the logger is made, at import
    )
    import httpx
    from moto import mock_aws

    from handler.cli.gateway import Gateway, GatewayServer, RestApi
    from handler.cli.local import in_process_stack
    from handler.cli.template import Template

    with mock_aws():
        key = in_process_stack("bench", ROOT / "infra" / "catalog.json").plaintext
        api = RestApi.from_template(Template.load(ROOT / "template.yaml"))
        server = GatewayServer("127.0.0.1", 0).start(Gateway(api))
        url = f"http://127.0.0.1:{server.port}/{api.stage}/v1/images/generations"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            with httpx.Client(timeout=120) as client:
                print(
                    f"{'size':>9} {'partials':>8} {'first partial ms':>16} "
                    f"{'completed ms':>12} {'buffered ms':>11}"
                )
                for size, partials in CASES:
                    body = {"prompt": "a lighthouse", "model": "gpt-image-2", "size": size}
                    firsts, completes, buffered = [], [], []
                    for attempt in range(repeat + 1):  # the first is a warm-up
                        first, complete = _streamed(client, url, headers, body, partials)
                        start = time.perf_counter()
                        answer = client.post(url, headers=headers, json=body)
                        assert answer.status_code == 200, answer.text
                        if attempt:
                            firsts.append(first)
                            completes.append(complete)
                            buffered.append((time.perf_counter() - start) * 1000)
                    shown = f"{statistics.median(firsts):>16.0f}" if partials else f"{'-':>16}"
                    print(
                        f"{size:>9} {partials:>8} {shown} {statistics.median(completes):>12.0f} "
                        f"{statistics.median(buffered):>11.0f}"
                    )
                _largest_inline(client, url, headers)
        finally:
            server.close()


def _streamed(
    client: "httpx.Client", url: str, headers: dict[str, str], body: dict[str, str], n: int
) -> tuple[float, float]:
    """Milliseconds to the first partial image and to the completed event."""
    start = time.perf_counter()
    first = 0.0
    streamed: dict[str, object] = {**body, "stream": True, "partial_images": n}
    with client.stream("POST", url, headers=headers, json=streamed) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            kind = json.loads(line[6:])["type"]
            if kind.endswith("partial_image") and not first:
                first = (time.perf_counter() - start) * 1000
            if kind.endswith("completed"):
                return first, (time.perf_counter() - start) * 1000
    raise AssertionError("the stream ended without a completed event")


def _largest_inline(client: "httpx.Client", url: str, headers: dict[str, str]) -> None:
    """How many 3840x2160 preview PNGs one buffered b64_json answer holds: the answers for
    one and two give the size an image adds and the envelope's, so no request has to draw
    ten 4K pictures inside the integration timeout (a 413 past the limit is tested apart)."""
    sizes = []
    for n in (1, 2):
        body = {"prompt": "a lighthouse", "model": "gpt-image-2", "size": "3840x2160", "n": n}
        answer = client.post(url, headers=headers, json=body)
        assert answer.status_code == 200, answer.text
        sizes.append(len(answer.content))
    per_image, envelope = sizes[1] - sizes[0], 2 * sizes[0] - sizes[1]
    from handler.config import get_settings

    limit = get_settings().max_response_bytes
    fits = (limit - envelope) // per_image
    print(
        f"buffered b64_json: answers up to {limit / 1e6:.2f} MB, so up to about "
        f"{(limit - 4096) * 3 / 4 / 1e6:.2f} MB of image files (base64 is 4/3); "
        f"{fits} preview PNG(s) of 3840x2160 fit ({per_image / 1e6:.2f} MB each in the "
        "answer); streamed events have no such limit"
    )


if __name__ == "__main__":
    main()
