"""Latency of POST /v1/images/generations through the whole app, on the preview backend.

DynamoDB and S3 are moto in-process, so this measures the service's own work (validation,
rendering, encoding, storing, signing), not AWS's network. Run:

    .venv/bin/python bench/generation_latency.py [--repeat 15]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("256x256", "png", "url", 1),
    ("1024x1024", "png", "url", 1),
    ("1024x1024", "webp", "b64_json", 1),
    ("1024x1024", "jpeg", "url", 4),
    ("1792x1024", "png", "b64_json", 1),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",  # read when the logger is made, at import
    )
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from handler.app import create_app
    from handler.cli.local import in_process_stack

    with mock_aws():
        # The API function's environment, from the template as the local stack takes it.
        key = in_process_stack("bench", ROOT / "infra" / "catalog.json").plaintext
        client = TestClient(create_app())
        headers = {"Authorization": f"Bearer {key}"}
        print(
            f"{'size':>9} {'format':>6} {'response':>9} {'n':>2} {'median ms':>10} "
            f"{'p90 ms':>8} {'body KB':>8}"
        )
        for size, output_format, response_format, n in CASES:
            body = {
                "prompt": "a lighthouse at dusk",
                "size": size,
                "n": n,
                "seed": 1,
                "output_format": output_format,
                "response_format": response_format,
            }
            client.post("/v1/images/generations", headers=headers, json=body)  # warm-up
            timings, length = [], 0
            for _ in range(repeat):
                start = time.perf_counter()
                response = client.post("/v1/images/generations", headers=headers, json=body)
                timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text
                length = len(response.content)
            timings.sort()
            p90 = timings[int(0.9 * (len(timings) - 1))]
            print(
                f"{size:>9} {output_format:>6} {response_format:>9} {n:>2} "
                f"{statistics.median(timings):>10.1f} {p90:>8.1f} {length / 1024:>8.1f}"
            )


if __name__ == "__main__":
    main()
