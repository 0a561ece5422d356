"""The splitter on the largest file a batch takes: 50,000 lines (about 10 MB here; the limit
is 200 MB), read from S3 as it streams, checked, and queued, on moto in-process. Prints the
wall time and the peak memory the split allocated (tracemalloc); the queue counts what it
is sent instead of holding it.

    .venv/bin/python bench/split.py [--lines 50000]
"""

import argparse
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Counting:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, items: Sequence[Any], *, delay_seconds: int = 0) -> None:
        self.sent += len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=50_000)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    from moto import mock_aws

    from handler import work_container
    from handler.aws.clients import s3_client
    from handler.cli.local import in_process_stack
    from handler.config import get_settings

    with mock_aws():
        key = in_process_stack("bench", ROOT / "infra" / "catalog.json")
        lines = [
            json.dumps(
                {
                    "custom_id": f"product-{index:05d}",
                    "method": "POST",
                    "url": "/v1/images/generations",
                    "body": {"prompt": f"a product photo, item {index}", "size": "256x256"},
                }
            )
            for index in range(args.lines)
        ]
        body = ("\n".join(lines) + "\n").encode()
        bucket = get_settings().images_bucket
        object_key = f"batches/input/{key.key_id}/bench.jsonl"
        s3_client().put_object(Bucket=bucket, Key=object_key, Body=body)
        queue = Counting()
        splitter = replace(work_container.splitter(), queue=queue)
        tracemalloc.start()
        started = time.perf_counter()
        batch = splitter.split(bucket, object_key, "etag")
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert batch is not None
        assert queue.sent == args.lines
        sys.stdout.write(
            f"{args.lines} lines, {len(body) / 2**20:.1f} MiB: split in {wall:.1f} s "
            f"(tracemalloc on), peak {peak / 2**20:.1f} MiB allocated; status {batch.status}\n"
        )


if __name__ == "__main__":
    main()
