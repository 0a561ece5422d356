"""`imagegate dev` as a process: SIGTERM stops it as cleanly as Ctrl-C, and commands aimed at
a stack that is not running say to start it."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackProcess
from tests.support import ROOT

pytestmark = pytest.mark.e2e
IMAGEGATE = str(Path(sys.executable).parent / "imagegate")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_stack_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    state_dir = tmp_path / "state"
    stack = LocalStackProcess(state_dir)
    try:
        # Given a stack that has said it is ready
        stack.wait_ready()
        assert (state_dir / "local.json").exists()
        # When it is sent the signal at once
        stack.process.send_signal(signum)
        # Then it stops by itself, cleaned up
        assert stack.process.wait(timeout=60) == 0
        assert not (state_dir / "local.json").exists()
    finally:
        stack.stop()
    assert "Traceback" not in (tmp_path / "state.stderr").read_text()


def test_commands_against_a_stack_that_died_say_to_start_it(tmp_path: Path) -> None:
    # Given the description a stack killed outright leaves behind
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "local.json").write_text(
        json.dumps(
            {
                "aws_endpoint_url": "http://127.0.0.1:9",
                "region": "us-east-1",
                "environment": {},
                "api_base_url": "http://127.0.0.1:9/prod/v1",
            }
        )
    )
    for command in (["keys", "--local", "list"], ["batch", "status", "batch_x"]):
        # When a command is aimed at it
        run = subprocess.run(
            [IMAGEGATE, *command[:1], "--state-dir", str(state_dir), *command[1:]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "300"},  # one line: rich wraps to the terminal
        )
        # Then it says so in one line, and how to start one
        assert run.returncode == 1, run.stderr
        assert "is not running" in run.stderr
        assert "imagegate dev" in run.stderr
        assert "Traceback" not in run.stderr
