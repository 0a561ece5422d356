"""The README's examples, run as they are written against the local stack.

Only what a reader cannot copy as is changes: the port (the tests' stack takes a free one),
the key the README shows as ``ig_…`` (the stack's printed key, as its reader would paste) and
where the stack wrote its test CA (its state directory, for that port).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.support import ROOT

pytestmark = pytest.mark.e2e
README = (ROOT / "README.md").read_text()
README_ORIGIN = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def _curl_commands() -> list[str]:
    """Every curl command (continuation lines joined) that calls the local stack."""
    commands = []
    for block in _blocks("sh"):
        joined = block.replace("\\\n", " ")
        commands += [
            line.split(" #", 1)[0]
            for line in joined.splitlines()
            if line.startswith("curl ") and README_ORIGIN in line
        ]
    return commands


def _origin(stack: Stack) -> str:
    return stack.base_url.split("/prod/v1", 1)[0]


def test_the_readme_shows_the_stacks_base_url() -> None:
    assert f"IMAGEGATE_BASE_URL={README_ORIGIN}/prod/v1" in README
    assert f'OpenAI(base_url="{README_ORIGIN}/prod/v1"' in README
    assert len(_curl_commands()) >= 3  # the examples below are really collected


def test_the_python_examples_run(local_stack: Stack, tmp_path: Path) -> None:
    # Given the README's Python blocks, in order, as one reader's session
    script = "\n\n".join(_blocks("python"))
    script = script.replace(README_ORIGIN, _origin(local_stack))
    script = script.replace('api_key="ig_…"', f'api_key="{local_stack.api_key}"')
    port = _origin(local_stack).rsplit(":", 1)[1]
    assert local_stack.state_dir is not None
    anchor = local_stack.state_dir / f"provenance-ca-{port}.pem"
    script = script.replace(".imagegate/provenance-ca-8000.pem", str(anchor))
    # When they run
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then they did what they say: the files are written and the job's URL printed
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "lighthouse.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "lighthouse.webp").read_bytes()[8:12] == b"WEBP"
    assert run.stdout.strip().startswith("http")


@pytest.mark.parametrize("command", _curl_commands())
def test_the_curl_examples_run(local_stack: Stack, command: str) -> None:
    run = subprocess.run(
        ["bash", "-c", command.replace(README_ORIGIN, _origin(local_stack))],
        env={**os.environ, "IMAGEGATE_API_KEY": local_stack.api_key},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert not re.search(r'"error":\s*\{', run.stdout), run.stdout
    assert re.search(r"^HTTP/1.1 (200|202)|^\{", run.stdout, flags=re.MULTILINE), run.stdout


def test_the_members_example_runs(local_stack: Stack) -> None:
    """The accounts section's shell session, against the stack (open sign-up), with the
    confirmation code its terminal shows where the README has ``123456``."""
    [block] = [b for b in _blocks("sh") if "/me/sign-up" in b]
    script = block.replace(README_ORIGIN, _origin(local_stack))
    lines = script.splitlines()
    signed_up = "\n".join(
        line
        for line in lines
        if not line.startswith(
            (
                "code=",
                "curl -s $api/me/confirm",
                "token=",
                "curl -s $api/account",
                "curl -s $api/me/account",
            )
        )
    )
    run = subprocess.run(["bash", "-c", signed_up], capture_output=True, text=True, timeout=60)
    assert '"next"' in run.stdout, run.stdout + run.stderr
    assert local_stack.state_dir is not None
    log = local_stack.state_dir.parent / f"{local_stack.state_dir.name}.stderr"
    code = re.findall(r"confirmation code for ada@example.com: (\d{6})", log.read_text())[-1]
    rest = "\n".join(line for line in lines if "/me/sign-up" not in line)
    run = subprocess.run(
        ["bash", "-c", rest.replace("code=123456", f"code={code}")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert '"api_key":"ig_' in run.stdout.replace(" ", ""), run.stdout + run.stderr
