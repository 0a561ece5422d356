"""Cold start: importing ``handler.main`` (what Lambda does before the first request) against
importing the bare stack it is built on, each in fresh interpreters, alternated, so the ratio
holds on any machine; and ``imagegate --help``. Run:

    .venv/bin/python bench/cold_start.py [--repeat 15]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The libraries the Lambda entry cannot do without: the web framework and its adapter, the
# AWS SDK, settings, and Powertools' logging, metrics and batch processing.
BARE_STACK = (
    "import fastapi, mangum, boto3, pydantic, pydantic_settings; "
    "import aws_lambda_powertools.logging, aws_lambda_powertools.metrics; "
    "import aws_lambda_powertools.utilities.batch"
)
IMAGEGATE = "import handler.main"
X_RAY = "import aws_xray_sdk.core"


def _seconds(command: list[str]) -> float:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    python = [sys.executable, "-c"]
    commands = {
        "interpreter alone": [*python, "pass"],
        "bare stack import": [*python, BARE_STACK],
        "handler.main import": [*python, IMAGEGATE],
        "X-Ray SDK import": [*python, X_RAY],
        "imagegate --help": [str(Path(sys.executable).parent / "imagegate"), "--help"],
    }
    for command in commands.values():  # warm the page cache: every run then reads the same
        _seconds(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):  # alternated, so load on the machine falls on all alike
        for name, command in commands.items():
            times[name].append(_seconds(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["interpreter alone"]
    sys.stdout.write(f"median of {repeat} fresh processes each (seconds, wall)\n")
    for name, value in median.items():
        sys.stdout.write(f"  {name:22} {value:.3f}  ({value - base:+.3f} over the interpreter)\n")
    ratio = (median["handler.main import"] - base) / (median["bare stack import"] - base)
    sys.stdout.write(f"handler.main / bare stack, imports alone: {ratio:.2f}x\n")


if __name__ == "__main__":
    main()
