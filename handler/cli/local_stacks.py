"""Which local stack a command means. Each running ``imagegate dev`` describes itself in
``<state dir>/local-<API port>.json`` and removes only that file when it stops, so stacks run
from one state dir side by side, and a command finds the one it is pointed at: the only one
running, or the one serving ``--port``."""

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

from handler.cli.local import LocalStack


class StackNotFound(Exception):
    """No local stack, or more than one, where a command looked for one."""


def stack_file(state_dir: Path, port: int) -> Path:
    """Where the stack serving the API on ``port`` describes itself."""
    return state_dir / f"local-{port}.json"


def find_stack(state_dir: Path, port: int | None = None) -> tuple[Path, LocalStack]:
    """The running local stack of ``state_dir`` (the one serving ``port``, where several
    run) and the file describing it; StackNotFound, saying what to do, for none (also when
    its process died without removing its description) or for several."""
    paths = [stack_file(state_dir, port)] if port else sorted(state_dir.glob("local-*.json"))
    described = [path for path in paths if path.exists()]
    if not described:
        serving = "" if port is None else f" serving port {port}"
        raise StackNotFound(
            f"No local stack{serving} described in {state_dir}: start one with `imagegate dev`."
        )
    stacks = [(path, LocalStack(**json.loads(path.read_text()))) for path in described]
    running = [(path, stack) for path, stack in stacks if _answers(stack)]
    if not running:
        path, stack = stacks[-1]
        raise StackNotFound(
            f"The local stack described in {path} is not running (nothing answers at "
            f"{stack.aws_endpoint_url}): start it with `imagegate dev`."
        )
    if len(running) > 1:
        ports = ", ".join(path.stem.removeprefix("local-") for path, _ in running)
        raise StackNotFound(
            f"{len(running)} local stacks run from {state_dir} (API ports {ports}): "
            "name one with --port."
        )
    return running[0]


def _answers(stack: LocalStack) -> bool:
    endpoint = urlsplit(stack.aws_endpoint_url)
    try:
        socket.create_connection((endpoint.hostname, endpoint.port), timeout=2).close()
    except OSError:
        return False
    return True
