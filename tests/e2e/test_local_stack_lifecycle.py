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
        assert [path.name for path in state_dir.glob("local-*.json")] == [
            f"local-{stack.port}.json"
        ]
        # When it is sent the signal at once
        stack.process.send_signal(signum)
        # Then it stops by itself, cleaned up
        assert stack.process.wait(timeout=60) == 0
        assert list(state_dir.glob("local-*.json")) == []
    finally:
        stack.stop()
    assert "Traceback" not in (tmp_path / "state.stderr").read_text()


def test_commands_against_a_stack_that_died_say_to_start_it(tmp_path: Path) -> None:
    # Given the description a stack killed outright leaves behind
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "local-9.json").write_text(
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


def _keys(state_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IMAGEGATE, "keys", "--local", "--state-dir", str(state_dir), *options, "list", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )


def test_two_stacks_from_one_state_dir_keep_their_own_state(tmp_path: Path) -> None:
    # Given two stacks started from the same state dir
    state_dir = tmp_path / "state"
    first = LocalStackProcess(state_dir, log=tmp_path / "first.stderr")
    second = LocalStackProcess(state_dir, log=tmp_path / "second.stderr")
    try:
        first.wait_ready()
        second.wait_ready()
        # When a command does not say which: it is refused, naming both ports
        unsaid = _keys(state_dir)
        assert unsaid.returncode == 1
        assert f"{first.port}, {second.port}" in unsaid.stderr or (
            f"{second.port}, {first.port}" in unsaid.stderr
        )
        # And --port picks one, which the command says it used
        picked = _keys(state_dir, "--port", str(second.port))
        assert picked.returncode == 0, picked.stderr
        assert f"127.0.0.1:{second.port}/prod/v1" in picked.stderr
        assert json.loads(picked.stdout)[0]["name"] == "local dev key"
        # When the second stops, the first is still found, without --port
        second.stop()
        assert second.process.returncode == 0
        found = _keys(state_dir)
        assert found.returncode == 0, found.stderr
        assert f"127.0.0.1:{first.port}/prod/v1" in found.stderr
        assert (state_dir / f"local-{first.port}.json").exists()
    finally:
        second.stop()
        first.stop()
