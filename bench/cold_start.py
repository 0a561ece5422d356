"""Cold start of every function the template deploys, as deployed: its init phase (its handler's
module imported as Lambda's runtime imports it, on demand, with the environment template.yaml
gives the function by default), from a stand-in of its own artifact (what it ships, built for
this machine: ``handler/cli/host_artifacts.py``), against importing the bare stack it is built
on; each in fresh interpreters, alternated, so the ratios hold on any machine. Also the API
function's init where everything is made (what a SnapStart snapshot holds), each artifact's
size (``make build``'s, where it was run; else the stand-in's) and ``imagegate --help``. Run:

    .venv/bin/python bench/cold_start.py [--repeat 15] [--functions WorkerFunction ...]
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from handler.cli.deployed import deployed_environment, function_entries, sizes  # noqa: E402

# The libraries the Lambda entry cannot do without: the web framework and its adapter, the
# AWS SDK, settings, and Powertools' logging, metrics and batch processing.
BARE_STACK = (
    "import fastapi, mangum, boto3, pydantic, pydantic_settings; "
    "import aws_lambda_powertools.logging, aws_lambda_powertools.metrics; "
    "import aws_lambda_powertools.utilities.batch"
)
X_RAY = "import aws_xray_sdk.core"
# A copy restored from a SnapStart snapshot runs the hook its init phase registered before its
# first request: the hook is caught where Lambda's runtime would take it, and timed.
RESTORED = """
import importlib, sys, time, types
hooks = sys.modules["snapshot_restore_py"] = types.ModuleType("snapshot_restore_py")
hooks.register_after_restore = (registered := []).append
importlib.import_module({entry!r})
started = time.perf_counter()
registered[0]()
print(time.perf_counter() - started)
"""
# What the first generation after an on-demand init loads before it calls AWS: its routes'
# module, the generation service with its clients, the catalog, Bedrock's backend.
FIRST_GENERATION = """
import importlib, time
served = importlib.import_module({entry!r}).served
started = time.perf_counter()
from handler.api.lazy_routes import LazyRoutes
from handler import container, generation_container
waiting = [r for r in served.app().router.routes if isinstance(r, LazyRoutes)]
next(r for r in waiting if "/images/generations" in r.module.paths).included()
generation_container.generation_service()
generation_container.backends()[container.catalog().get("stable-image-core").backend]
print(time.perf_counter() - started)
"""
STANDS_IN = ROOT / "build" / "bench"


def _seconds(command: list[str], environment: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)  # noqa: S603
    elapsed = time.perf_counter() - started
    if done.returncode or "initialization failed" in done.stdout + done.stderr:
        raise SystemExit(f"{command} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed


def _reported(command: list[str], environment: dict[str, str], cwd: Path) -> float:
    """The seconds the command itself reports, on its last line."""
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)  # noqa: S603
    if done.returncode or "failed;" in done.stdout + done.stderr:
        raise SystemExit(f"{command} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return float(done.stdout.splitlines()[-1])


def _served(command: list[str], environment: dict[str, str], cwd: Path) -> float:
    """From starting a web server to its first answer to ``GET /health`` (the Lambda Web
    Adapter's readiness check: until then no invocation reaches it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**environment, "AWS_LWA_PORT": str(port)}
    started = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603
        [*command, "--port", str(port)],
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while server.poll() is None:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.002)
        raise SystemExit(f"{command} exited with {server.returncode}")
    finally:
        server.terminate()
        server.wait()


def _commands(
    python: str, functions: list[str]
) -> dict[str, tuple[str, list[str], dict[str, str], Path]]:
    """Each measurement: how it is timed, its command, environment and directory."""
    plain = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    isolated = [python, "-S", "-s"]  # the artifact alone on the path, as in Lambda's /var/task
    api = STANDS_IN / "ApiFunction"
    commands = {
        "interpreter alone": ("run", [*isolated, "-c", "pass"], plain, ROOT),
        "bare stack import": (
            "run",
            [*isolated, "-c", BARE_STACK],
            {**plain, "PYTHONPATH": str(api)},
            api,
        ),
    }
    for function in functions:
        entry = function_entries()[function]
        artifact = STANDS_IN / function
        environment = {**plain, **deployed_environment(function), "PYTHONPATH": str(artifact)}
        if ":" in entry:  # a web app behind the Lambda Web Adapter (run.sh)
            server = [*isolated, "-m", "uvicorn", "--factory", entry, "--lifespan", "off"]
            quiet = ["--no-access-log", "--log-level", "warning"]  # as run.sh starts it
            commands[function] = ("serve", [*server, *quiet], environment, artifact)
            continue
        load = f"import importlib; importlib.import_module({entry!r})"
        commands[function] = ("run", [*isolated, "-c", load], environment, artifact)
        if function == "ApiFunction":
            snapshotted = {**environment, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
            commands["ApiFunction, all made"] = (
                "run",
                [*isolated, "-c", load],
                snapshotted,
                artifact,
            )
            first = FIRST_GENERATION.format(entry=entry)
            commands["ApiFunction, first generation"] = (
                "report",
                [*isolated, "-c", first],
                environment,
                artifact,
            )
            restore = RESTORED.format(entry=entry)
            commands["ApiFunction, restored"] = (
                "report",
                [*isolated, "-c", restore],
                snapshotted,
                artifact,
            )
    commands["X-Ray SDK import"] = ("run", [python, "-c", X_RAY], plain, ROOT)
    cli = str(Path(python).parent / "imagegate")
    commands["imagegate --help"] = ("run", [cli, "--help"], plain, ROOT)
    return commands


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--functions", nargs="+", help="these only (the API's always)")
    arguments = parser.parse_args()
    repeat = arguments.repeat
    functions = list(function_entries())
    if arguments.functions:
        functions = [f for f in functions if f in {"ApiFunction", *arguments.functions}]
    from handler.cli.host_artifacts import stand_in

    for function in functions:
        stand_in(function, STANDS_IN / function)
    commands = _commands(sys.executable, functions)
    timers = {"run": _seconds, "serve": _served, "report": _reported}
    for how, command, environment, cwd in commands.values():  # warm the page cache
        timers[how](command, environment, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):  # alternated, so load on the machine falls on all alike
        for name, (how, command, environment, cwd) in commands.items():
            times[name].append(timers[how](command, environment, cwd))
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["interpreter alone"]
    bare = median["bare stack import"] - base
    shipped = sizes(STANDS_IN, functions)
    sys.stdout.write(f"median of {repeat} fresh processes each (seconds, wall)\n")
    sys.stdout.write(
        f"  {'':30} {'wall':>6} {'less the interpreter':>21} {'/ bare':>7}  artifact\n"
    )
    for name, value in median.items():
        size = shipped.get(name.split(",")[0], "")
        own = value if commands[name][0] == "report" else value - base  # timed inside: no start
        ratio = f"{own / bare:6.2f}x" if name != "interpreter alone" else ""
        wall = f"{value:6.3f}" if commands[name][0] != "report" else f"{'':6}"
        sys.stdout.write(f"  {name:30} {wall} {own:+21.3f} {ratio:>7}  {size}\n")


if __name__ == "__main__":
    main()
