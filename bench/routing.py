"""What routing across placements adds to a request.

1. The routing decision alone, warm: a model with one placement, and with two (its circuits
   read from the short-lived table once, then cached per instance).
2. POST /v1/images/generations through the whole app for a model on two placements: Bedrock
   (its wire-format stand-in, through boto3) and the preview backend; with Bedrock healthy
   (its stand-in answering at once), with Bedrock throttling every call (each request fails
   over), and with Bedrock's circuit open (it is skipped).

DynamoDB and S3 are moto in-process: figures are the service's own work, not AWS's network.
Run:

    .venv/bin/python bench/routing.py [--repeat 15]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the Bedrock stand-in of the tests

from bench.timing import timed  # noqa: E402

DECISIONS = 10_000
GRANTED = "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1"


def _catalog(folder: Path) -> Path:
    """The shipped catalog plus ``fox``: Stable Image Core's card on Bedrock, then preview."""
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    core = next(model for model in catalog["models"] if model["id"] == "stable-image-core")
    card = {k: v for k, v in core.items() if k not in ("backend", "backend_params", "cost")}
    bedrock = {
        "id": "bedrock-west",
        "backend": "bedrock",
        "backend_params": core["backend_params"],
        "region": "us-west-2",
        "cost": core["cost"],
    }
    preview = {"id": "preview", "backend": "preview"}
    card.update(id="fox", aliases=[], placements=[bedrock, preview])
    catalog["models"].append(card)
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="ERROR",  # read when the logger is made, at import: no failovers
    )
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from handler import container, generation_container
    from handler.app import create_app
    from handler.cli.local import in_process_stack
    from handler.core.deadline import Deadline
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec
    from handler.stores import circuits
    from tests.fakes.bedrock_runtime import FakeBedrock

    with mock_aws(), FakeBedrock() as bedrock, tempfile.TemporaryDirectory() as folder:
        key = in_process_stack("bench", _catalog(Path(folder))).plaintext
        os.environ.update(
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock.endpoint_url,
            IMAGEGATE_BEDROCK_MODEL_ARNS=GRANTED,
            IMAGEGATE_SERVE_PREVIEW="true",
        )
        container.reset()
        router = generation_container.router()
        print(f"routing decision, warm (mean of {DECISIONS:,})")
        for name in ("imagegate-preview", "fox"):
            spec = build_spec(container.catalog().get(name), GenerationRequest(prompt="x"), "r")
            router.route(spec, Deadline.after(60))  # the circuits read once
            start = time.perf_counter()
            for _ in range(DECISIONS):
                router.route(spec, Deadline.after(60))
            micros = (time.perf_counter() - start) / DECISIONS * 1e6
            placements = len(spec.model.placements)
            print(f"  {name:<18} {placements} placement{'s' * (placements > 1)}: {micros:7.1f} µs")

        client = TestClient(create_app())
        headers = {"Authorization": f"Bearer {key}"}

        def generate(model: str) -> Callable[[], Any]:
            body = {"model": model, "prompt": "a fox", "size": "1024x1024"}

            def call() -> None:
                response = client.post("/v1/images/generations", headers=headers, json=body)
                assert response.status_code == 200, response.text

            return call

        print(f"\nPOST /v1/images/generations, 1024x1024 ({repeat} each)")
        print(f"  {'case':<44} {'median ms':>10} {'p90 ms':>8}")
        cases: list[tuple[str, str, str | None, int]] = [
            ("preview alone (imagegate-preview)", "imagegate-preview", None, 3),
            ("fox on Bedrock, healthy", "fox", None, 3),
            ("fox: Bedrock throttles, fails over to preview", "fox", "[throttle]", 10**9),
            ("fox: Bedrock's circuit open, skipped", "fox", "[throttle]", 3),
        ]
        for label, model, failing, failures in cases:
            bedrock.failing = failing
            circuits.FAILURES = failures  # 10**9: never opens, so every request fails over
            container.reset(keep=())
            if failing and failures < 10**9:
                for _ in range(failures):  # the circuit opens
                    generate(model)()
            generate(model)()  # warm-up
            median, p90 = timed(generate(model), repeat)
            print(f"  {label:<44} {median:>10.1f} {p90:>8.1f}")


if __name__ == "__main__":
    main()
