"""A running stack for the SDK tests.

By default the tests start the local stack (`imagegate dev`) as a subprocess, exactly as the
README's first command does. Set IMAGEGATE_E2E_BASE_URL and IMAGEGATE_E2E_API_KEY to run the
same tests against a deployed stack instead.
"""

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openai import OpenAI

from tests.e2e.browser import CHROMIUM_FLAGS, WAIT_MS
from tests.fakes.bedrock_runtime import FakeBedrock
from tests.fakes.replicate_api import FakeReplicate
from tests.support import ROOT

STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Stack:
    base_url: str
    api_key: str
    # Credentials the stack signs URLs with, where the tests know them (the local stack).
    signing_keys: tuple[str, str] | None
    state_dir: Path | None
    replicate: FakeReplicate | None = None
    bedrock: FakeBedrock | None = None
    opened: list[OpenAI] = field(default_factory=list, compare=False)

    def client(self, api_key: str | None = None) -> OpenAI:
        """An SDK client for the stack; the fixture closes it with the session."""
        client = OpenAI(base_url=self.base_url, api_key=api_key or self.api_key, max_retries=0)
        self.opened.append(client)
        return client

    def close(self) -> None:
        for client in self.opened:
            client.close()

    def imagegate(self, *args: str) -> str:
        """The `imagegate` command against this (local) stack: what it printed."""
        command, *rest = args
        state = ["--local", "--state-dir", str(self.state_dir)]
        result = subprocess.run(
            [str(Path(sys.executable).parent / "imagegate"), command, *state, *rest],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout


class LocalStackProcess:
    """`imagegate dev --port 0` in a subprocess; stdout drained so it never blocks."""

    def __init__(self, state_dir: Path, env: dict[str, str] | None = None, log: Path | None = None):
        command = [
            str(Path(sys.executable).parent / "imagegate"),
            "dev",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            # People sign up for themselves here (the console's tests do)
            "--parameter-overrides",
            "SignUp=open",
        ]
        self.stderr = (log or state_dir.parent / f"{state_dir.name}.stderr").open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.values: dict[str, str] = {}
        self._ready = threading.Event()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            name, sep, value = line.strip().partition("=")
            if sep and name in ("IMAGEGATE_BASE_URL", "IMAGEGATE_API_KEY"):
                self.values[name] = value
                if len(self.values) == 2:
                    self._ready.set()
        self._ready.set()  # exited: let the waiter see it

    def wait_ready(self) -> dict[str, str]:
        if not self._ready.wait(STARTUP_SECONDS) or len(self.values) != 2:
            self.stop()
            log = Path(self.stderr.name).read_text()
            raise RuntimeError(f"local stack did not start:\n{log}")
        return self.values

    @property
    def port(self) -> int:
        """The API's port (``--port 0`` picks a free one), from the base URL it printed."""
        port = urlsplit(self.values["IMAGEGATE_BASE_URL"]).port
        assert port is not None
        return port

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drainer.join(timeout=15)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.stderr.close()


# The template's default grants, and Nova Canvas where it runs.
BEDROCK_GRANTS = (
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-ultra-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1,"
    "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0,"
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0"
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base_url = os.environ.get("IMAGEGATE_E2E_BASE_URL")
    if base_url:
        deployed = Stack(base_url, os.environ["IMAGEGATE_E2E_API_KEY"], None, None)
        yield deployed
        deployed.close()
        return
    state_dir = tmp_path_factory.mktemp("local-stack") / "state"
    # The local stack's Replicate and Bedrock models talk to fakes, as they would to a real
    # account (Bedrock's through boto3's endpoint variable).
    with FakeReplicate() as replicate, FakeBedrock() as bedrock:
        process = LocalStackProcess(
            state_dir,
            {
                "IMAGEGATE_REPLICATE_API_TOKEN": replicate.token,
                "IMAGEGATE_REPLICATE_BASE_URL": replicate.base_url,
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.endpoint_url,
                "IMAGEGATE_BEDROCK_MODEL_ARNS": BEDROCK_GRANTS,
            },
        )
        try:
            values = process.wait_ready()
            local = Stack(
                values["IMAGEGATE_BASE_URL"],
                values["IMAGEGATE_API_KEY"],
                ("testing", "testing"),
                state_dir,
                replicate,
                bedrock,
            )
            yield local
            local.close()
        finally:
            process.stop()


@pytest.fixture
def local_stack(stack: Stack) -> Stack:
    if stack.state_dir is None:
        pytest.skip("needs the local stack (IMAGEGATE_E2E_BASE_URL points elsewhere)")
    return stack


def _chromium() -> str:
    found = os.environ.get("IMAGEGATE_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no Chromium: `make test` installs Debian's (or set IMAGEGATE_CHROMIUM)")
    pytest.skip("no Chromium here (Debian's package `chromium`, or set IMAGEGATE_CHROMIUM)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), driven by Playwright."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(WAIT_MS)
    yield opened
    context.close()
    assert not errors, errors  # the console's own script never threw
