"""The benchmarks still run: their environment comes from template.yaml, as the local stack's."""

import subprocess
import sys

from tests.support import ROOT


def _run(script: str, *options: str, repeat: bool = True) -> str:
    once = ["--repeat", "1"] if repeat else []
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *once, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_latency_benchmark_runs_once_per_case() -> None:
    out = _run("generation_latency.py")
    rows = [line for line in out.splitlines() if line.strip().endswith(tuple("0123456789"))]
    assert len(rows) == 5, out


def test_the_warm_request_benchmark_runs_and_counts_two_dynamodb_round_trips() -> None:
    out = _run("warm_request.py")
    cases = [line for line in out.splitlines() if "DynamoDB round trips" in line]
    assert len(cases) == 3, out
    assert all(line.endswith("DynamoDB round trips 2") for line in cases), out


def test_the_streaming_benchmark_runs_every_case_through_the_gateway() -> None:
    out = _run("streaming.py")
    rows = [line for line in out.splitlines() if line.strip().endswith(tuple("0123456789"))]
    assert len(rows) == 4, out
    assert "buffered b64_json:" in out, out


def test_the_routing_benchmark_times_the_decision_and_every_failover_case() -> None:
    out = _run("routing.py")
    assert [line.split(":")[0].strip() for line in out.splitlines() if " µs" in line] == [
        "imagegate-preview  1 placement",
        "fox                2 placements",
    ], out
    rows = [line for line in out.splitlines() if line.strip().endswith(tuple("0123456789"))]
    assert len(rows) == 4, out


def test_the_moderation_benchmark_times_each_case() -> None:
    out = _run("moderation.py")
    rows = [line for line in out.splitlines() if line.strip().endswith(tuple("0123456789"))]
    labels = [row.split("  ")[1].strip() for row in rows if row.startswith("  ")]
    assert len(labels) == 5, out
    assert labels[0] == "moderation off, n=1"


def test_the_cold_start_benchmark_times_a_function_and_a_web_app_from_their_artifacts() -> None:
    out = _run("cold_start.py", "--functions", "StreamFunction")
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert {"ApiFunction", "StreamFunction", "bare"} <= set(rows), out
    assert "MiB zipped" in rows["ApiFunction"], out
    assert "MiB zipped" in rows["StreamFunction"], out


def test_the_provenance_benchmark_signs_every_format_and_an_edit() -> None:
    out = _run("provenance.py")
    rows = [line.split(":")[0].strip() for line in out.splitlines() if line.endswith("bytes")]
    assert [row.split()[0] for row in rows] == ["png", "jpeg", "webp"], out
    assert "first image of a process" in out, out
    assert "its signed input kept" in out, out


def test_a_request_enters_no_module_twice_from_outside_the_money_package() -> None:
    # The walk of one warm POST /v1/images/generations from the Lambda entry: outside the money
    # package (whose reserve and settlement come back to the aws leaf as often as they write),
    # every module it goes on through is entered once.
    for format in ("url", "b64_json"):
        out = _run("request_walk.py", "--format", format, repeat=False)
        last = out.split("of those, entries from outside the money package")[-1]
        assert last.splitlines()[1:] == ["    none"], out
