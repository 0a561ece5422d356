"""Cold start: importing ``handler.main`` (every function's entry), and the API function's whole
init phase (the import, the app built, the clients made), against importing the bare stack it
is built on, each in fresh interpreters, alternated, so the ratios hold on any machine; and
``imagegate --help``. Run:

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
# The API function's whole init phase: the import, then the app built and the clients made
# (initialize() builds the app for the function whose handler is api_handler only).
API_INIT = (
    "import os; os.environ['_HANDLER'] = 'handler.main.api_handler'; "
    "import handler.main as entry; entry.initialize(); assert entry._asgi.cache_info().currsize"
)
X_RAY = "import aws_xray_sdk.core"
# What initialize() reads: resource names (nothing is called), as the template sets them.
SETTINGS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    **{
        f"IMAGEGATE_{name}": f"bench-{name.lower()}"
        for name in ("KEYS_TABLE", "USAGE_TABLE", "IDEMPOTENCY_TABLE", "WORK_TABLE")
    },
    "IMAGEGATE_IMAGES_BUCKET": "bench-images",
    "IMAGEGATE_WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/bench-work",
    "IMAGEGATE_WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/bench-webhooks",
    "IMAGEGATE_WEBHOOK_SECRET": "bench",
    "IMAGEGATE_CATALOG_FILE": str(ROOT / "infra" / "catalog.json"),
}


def _seconds(command: list[str]) -> float:
    environment = {**os.environ, **SETTINGS, "PYTHONDONTWRITEBYTECODE": "1"}
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
        "API function init": [*python, API_INIT],
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
    bare = median["bare stack import"] - base
    ratio = (median["handler.main import"] - base) / bare
    sys.stdout.write(f"handler.main / bare stack, imports alone: {ratio:.2f}x\n")
    init = (median["API function init"] - base) / bare
    sys.stdout.write(f"API function init (import, app, clients) / bare stack import: {init:.2f}x\n")


if __name__ == "__main__":
    main()
