"""`imagegate batch` against the running stack, as a user drives it."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from handler.cli.main import app
from handler.core.amounts import format_micros
from tests.e2e.conftest import Stack


def test_submit_wait_status_and_download(local_stack: Stack, tmp_path: Path) -> None:
    # Given a five-line batch file, one line of which asks for a size the model lacks
    lines = [
        {"custom_id": f"shoe-{i}", "body": {"prompt": f"shoe {i}", "size": "256x256"}}
        for i in range(4)
    ]
    lines.append({"custom_id": "too-small", "body": {"prompt": "x", "size": "8x8"}})
    batch_file = tmp_path / "shoes.jsonl"
    batch_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    state = ["--state-dir", str(local_stack.state_dir)]
    runner = CliRunner()
    # When it is submitted and followed to the end, on an 80-column terminal
    submitted = runner.invoke(
        app, ["batch", *state, "submit", str(batch_file), "--wait"], env={"COLUMNS": "80"}
    )
    # Then it ends with one error, and the id is on stdout
    assert submitted.exit_code == 0, submitted.output
    batch_id, ended, counted = submitted.stdout.splitlines()[:3]
    assert batch_id.startswith("batch_")
    assert ended == f"{batch_id}: completed_with_errors"
    status = runner.invoke(app, ["batch", *state, "status", batch_id, "--json"])
    shown = json.loads(status.stdout)
    assert shown["request_counts"] == {"total": 5, "completed": 4, "failed": 1}
    # And its cost is whole on its line, in the deployment's currency
    cost = format_micros(shown["cost"])
    assert counted == f"4 succeeded, 1 failed of 5; cost {cost} USD"
    assert all(len(line) <= 80 for line in submitted.stdout.splitlines())
    # And download writes the output and the four images, named by custom_id
    out = tmp_path / "out"
    downloaded = runner.invoke(app, ["batch", *state, "download", batch_id, "--out", str(out)])
    assert downloaded.exit_code == 0, downloaded.output
    assert len((out / batch_id / "output.jsonl").read_text().splitlines()) == 5
    images = sorted(path.name for path in (out / batch_id / "images").iterdir())
    assert images == [f"shoe-{i}-0.png" for i in range(4)]


def test_an_unknown_batch_is_a_clear_error(local_stack: Stack) -> None:
    state = ["--state-dir", str(local_stack.state_dir)]
    result = CliRunner().invoke(app, ["batch", *state, "status", "batch_nope"])
    assert result.exit_code == 1
    assert "404" in result.output


def test_the_readme_async_example_with_the_sdk(stack: Stack) -> None:
    # Given the SDK client of the README
    client = stack.client()
    # When a job is queued and polled as the README shows
    job: Any = client.post(
        "/images/generations",
        body={"prompt": "a lighthouse", "size": "256x256"},
        options={"headers": {"Prefer": "respond-async"}},
        cast_to=object,
    )
    assert job["status"] == "in_progress"
    deadline = time.monotonic() + 60
    while job["status"] == "in_progress":
        job = client.get(f"/images/jobs/{job['id']}", cast_to=object)
        assert time.monotonic() < deadline, "the job did not finish in a minute"
        time.sleep(0.2)
    # Then it succeeded with a fetchable image
    assert job["status"] == "succeeded"
    assert httpx.get(job["result"]["data"][0]["url"]).status_code == 200
