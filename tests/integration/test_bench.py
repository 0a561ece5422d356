"""The benchmark still runs: its environment comes from template.yaml, as the local stack's."""

import subprocess
import sys

from tests.support import ROOT


def test_the_latency_benchmark_runs_once_per_case() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generation_latency.py"), "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if line.strip().endswith(tuple("0123456789"))]
    assert len(rows) == 5, run.stdout


def test_the_warm_request_benchmark_runs_and_counts_two_dynamodb_round_trips() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "warm_request.py"), "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    cases = [line for line in run.stdout.splitlines() if "DynamoDB round trips" in line]
    assert len(cases) == 3, run.stdout
    assert all(line.endswith("DynamoDB round trips 2") for line in cases), run.stdout
