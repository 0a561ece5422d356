"""What moderation adds to a request: POST /v1/images/generations through the whole app on
the preview backend, with the guardrail's ``ApplyGuardrail`` played by its wire-format
stand-in through boto3, each of its answers delayed by ``--latency`` milliseconds (what the
real service takes is not measured here; give yours).

The prompt is checked before anything is reserved, then each image made at once
(concurrently): a request pays about two guardrail round trips whatever its ``n``, or one
where an account's policy turns output checks off.

DynamoDB and S3 are moto in-process: figures are the service's own work, not AWS's network.
Run:

    .venv/bin/python bench/moderation.py [--repeat 15] [--latency 50]
"""

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the Bedrock stand-in of the tests

from bench.timing import timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--latency", type=int, default=50, help="ms per ApplyGuardrail")
    options = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="ERROR",
    )
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from handler import container, moderation_container
    from handler.app import create_app
    from handler.cli.local import in_process_stack
    from handler.core.keys import account_of
    from handler.core.records.moderation import ModerationPolicy
    from tests.fakes.bedrock_runtime import FakeBedrock

    with mock_aws(), FakeBedrock() as guardrail:
        new = in_process_stack("bench", ROOT / "infra" / "catalog.json")
        headers = {"Authorization": f"Bearer {new.plaintext}"}

        def generate(n: int) -> Callable[[], Any]:
            body = {"model": "imagegate-preview", "prompt": "a fox", "size": "256x256", "n": n}

            def call() -> None:
                response = client.post("/v1/images/generations", headers=headers, json=body)
                assert response.status_code == 200, response.text

            return call

        print(f"POST /v1/images/generations, 256x256, ApplyGuardrail taking {options.latency} ms")
        print(f"({options.repeat} each)")
        print(f"  {'case':<40} {'median ms':>10} {'p90 ms':>8}")
        outputs_off = ModerationPolicy(check_outputs=False)
        cases = [
            ("moderation off, n=1", False, None, 1),
            ("moderation off, n=4", False, None, 4),
            ("prompt and output checked, n=1", True, None, 1),
            ("prompt and outputs checked, n=4", True, None, 4),
            ("prompt only (outputs off by policy), n=4", True, outputs_off, 4),
        ]
        for label, moderated, policy, n in cases:
            os.environ["IMAGEGATE_GUARDRAIL_ID"] = "bench" if moderated else ""
            os.environ["IMAGEGATE_MODERATION_OUTPUTS_OPTIONAL"] = "true"
            os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = guardrail.endpoint_url
            container.reset()
            client = TestClient(create_app())
            moderation_container.account_moderation().set_policy(
                account_of(new.key_id), policy, actor="bench", now=0
            )
            guardrail.guardrail_delay = options.latency / 1000
            generate(n)()  # warm-up
            median, p90 = timed(generate(n), options.repeat)
            print(f"  {label:<40} {median:>10.1f} {p90:>8.1f}")


if __name__ == "__main__":
    main()
