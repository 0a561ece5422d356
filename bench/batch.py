"""Batches on the local stack, end to end: for each size, a Batch JSONL file submitted
through the API as a client would (its upload, S3's notification, the splitter, the worker,
the finalization), followed to its end, then its output read a page at a time. The preview
backend is instant (``IMAGEGATE_PREVIEW_INSTANT``: one flat picture per size), so what is
measured is imagegate on its stand-in, not drawing.

    .venv/bin/python bench/batch.py [--lines 100 1000 10000]

Prints, per batch: wall time from the upload to the batch's end, time per line, the time to
read every output page against as many pages at the first page's cost (1.0x: a page costs
the same wherever it is), and the peak RSS of the `imagegate dev` process so far.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from handler.cli.batch import upload_input

ROOT = Path(__file__).resolve().parents[1]
FINISHED = ("completed", "completed_with_errors", "cancelled", "failed")


class Stack:
    """`imagegate dev` in a subprocess, on a fresh state directory."""

    def __init__(self, state_dir: Path):
        environment = {**os.environ, "IMAGEGATE_PREVIEW_INSTANT": "true"}
        command = [str(ROOT / ".venv" / "bin" / "imagegate"), "dev", "--port", "0"]
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [*command, "--state-dir", str(state_dir)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.values: dict[str, str] = {}
        ready = threading.Event()

        def drain() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                name, _, value = line.strip().partition("=")
                if name in ("IMAGEGATE_BASE_URL", "IMAGEGATE_API_KEY"):
                    self.values[name] = value
                    if len(self.values) == 2:
                        ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(120) or len(self.values) != 2:
            self.stop()
            raise SystemExit("the local stack did not start")
        self.http = httpx.Client(
            base_url=self.values["IMAGEGATE_BASE_URL"],
            headers={"authorization": f"Bearer {self.values['IMAGEGATE_API_KEY']}"},
            timeout=120,
        )

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has had."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _file(lines: int, directory: Path) -> Path:
    path = directory / f"batch-{lines}.jsonl"
    with path.open("w") as out:
        for index in range(lines):
            body = {"model": "imagegate-preview", "prompt": f"line {index}", "size": "256x256"}
            request = {"custom_id": f"c{index}", "method": "POST", "url": "/v1/images/generations"}
            out.write(json.dumps({**request, "body": body}) + "\n")
    return path


def _run(stack: Stack, lines: int, directory: Path) -> dict[str, Any]:
    path = _file(lines, directory)
    batch = stack.http.post("/batches", json={}).json()
    started = time.perf_counter()
    upload_input(batch, path).raise_for_status()
    while True:
        status = stack.http.get(f"/batches/{batch['id']}").json()
        if status["status"] in FINISHED:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    assert status["status"] == "completed", status
    assert status["request_counts"]["completed"] == lines, status
    pages, first_page, read = _read_output(stack, batch["id"])
    assert read == lines
    return {"lines": lines, "wall": wall, "pages": pages, "first_page": first_page}


def _read_output(stack: Stack, batch_id: str) -> tuple[list[float], float, int]:
    """Each page's time; the first page again, alone, as the cost of one page; lines read."""
    times, start, read = [], 0, 0
    while True:
        began = time.perf_counter()
        page = stack.http.get(f"/batches/{batch_id}/output", params={"start": start})
        times.append(time.perf_counter() - began)
        read += page.text.count("\n")
        if "x-next-start" not in page.headers:
            break
        start = int(page.headers["x-next-start"])
    first = []
    for _ in range(5):
        began = time.perf_counter()
        stack.http.get(f"/batches/{batch_id}/output", params={"start": 0})
        first.append(time.perf_counter() - began)
    return times, sorted(first)[2], read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, nargs="+", default=[100, 1000, 10_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        stack = Stack(Path(directory) / "state")
        try:
            sys.stdout.write(
                "instant preview backend, 256x256 PNG; the local stack of `imagegate dev`\n"
            )
            base = None
            for lines in args.lines:
                run = _run(stack, lines, Path(directory))
                per_line = run["wall"] / lines * 1000
                base = base or per_line
                pages = sum(run["pages"])
                linear = len(run["pages"]) * run["first_page"]
                sys.stdout.write(
                    f"  {lines:6d} lines: wall {run['wall']:7.1f} s, {per_line:6.1f} ms a line "
                    f"({per_line / base:.2f}x the first), output {len(run['pages'])} pages "
                    f"{pages:6.2f} s ({pages / linear:.2f}x pages at the first's cost), "
                    f"peak RSS {stack.peak_rss_mb():6.0f} MB\n"
                )
                sys.stdout.flush()
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
