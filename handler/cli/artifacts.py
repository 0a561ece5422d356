"""What each Lambda function's artifact holds, in one place: ``make build`` makes the artifacts
with it (``build-<Function>``), and the tests and ``bench/cold_start.py`` make this machine's
stand-in of one (``stand_in``).

A function ships the distributions its code imports (pyproject.toml's
``[tool.imagegate.functions]``, held to its imports by ``tests/unit/test_function_artifacts.py``)
with what they depend on, the package ``handler/`` but its CLI, and the catalog. Of botocore's
data it keeps the services the code calls (``[tool.imagegate] botocore-services``, held to the
code's clients by the same test), their models without their documentation, uncompressed:
botocore reads a plain ``.json`` before a ``.json.gz``, and a model without its prose is a
fifth of the size to read at each cold start.

The commands the Makefile runs need only the standard library (Python 3.11, the tools'):

    python -m handler.cli.artifacts functions
    python -m handler.cli.artifacts requirements ApiFunction
    python -m handler.cli.artifacts code ARTIFACT_DIR [--streams]
    python -m handler.cli.artifacts trim-botocore ARTIFACT_DIR
"""

import gzip
import json
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# What every client needs, whatever its service: partitions, retries, defaults, endpoints.
BOTOCORE_SHARED = ("endpoints.json", "partitions.json", "sdk-default-configuration.json")
BOTOCORE_SHARED_ALSO = ("_retry.json",)


def _settings() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        found: dict[str, Any] = tomllib.load(file)["tool"]["imagegate"]
    return found


def functions() -> dict[str, list[str]]:
    """Each function's requirements: the distributions its code imports."""
    listed: dict[str, list[str]] = _settings()["functions"]
    return listed


def botocore_services() -> list[str]:
    services: list[str] = _settings()["botocore-services"]
    return services


def copy_code(artifact: Path, *, streams: bool = False) -> None:
    """The package (its CLI left out); a streaming function's ``run.sh``. (The catalog is the
    build's to add: ``make build CATALOG=...``.)"""
    shutil.copytree(
        ROOT / "handler",
        artifact / "handler",
        ignore=shutil.ignore_patterns("cli", "__pycache__"),
        dirs_exist_ok=True,
    )
    if streams:
        shutil.copy(ROOT / "infra" / "web-adapter" / "run.sh", artifact / "run.sh")
        (artifact / "run.sh").chmod(0o755)


def trim_botocore(artifact: Path, services: list[str] | None = None) -> None:
    """Keep botocore's data for ``services`` only; their models without documentation."""
    data = artifact / "botocore" / "data"
    kept = set(services if services is not None else botocore_services())
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in kept:
            shutil.rmtree(entry)
        elif entry.is_file() and entry.name not in BOTOCORE_SHARED + BOTOCORE_SHARED_ALSO:
            entry.unlink()
    prefixes: set[str | None] = (
        set()
    )  # endpoints.json names a service by its endpoint prefix (api.sagemaker)
    for service in kept:
        for version in (data / service).iterdir():
            for model in version.iterdir():
                prefixes.add(_plain(model))
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: value for name, value in partition["services"].items() if name in prefixes
        }
    (data / "endpoints.json").write_text(json.dumps(endpoints, separators=(",", ":")))


def _plain(model: Path) -> str | None:
    """A service's model, uncompressed; its ``service-2`` without documentation (and its
    endpoint prefix returned). Examples (only botocore's documentation reads them) go."""
    if model.name.startswith("examples-"):
        model.unlink()
        return None
    compressed = model.name.endswith(".gz")
    raw = gzip.decompress(model.read_bytes()) if compressed else model.read_bytes()
    if model.name not in ("service-2.json", "service-2.json.gz"):
        if compressed:
            model.with_name(model.name.removesuffix(".gz")).write_bytes(raw)
            model.unlink()
        return None
    content = _undocumented(json.loads(raw))
    model.with_name(model.name.removesuffix(".gz")).write_text(
        json.dumps(content, separators=(",", ":"))
    )
    if compressed:
        model.unlink()
    prefix: str = content["metadata"]["endpointPrefix"]
    return prefix


def _undocumented(node: Any) -> Any:
    # Only prose goes: a member named "documentation" is a shape reference (a dict), kept.
    if isinstance(node, dict):
        return {
            key: _undocumented(value)
            for key, value in node.items()
            if not (key in ("documentation", "documentationUrl") and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_undocumented(value) for value in node]
    return node


def main(arguments: list[str]) -> None:
    command, target = arguments[0], (arguments[1:] or [""])[0]
    if command == "functions":
        sys.stdout.write(" ".join(functions()) + "\n")
    elif command == "requirements":
        sys.stdout.write(" ".join(functions()[target]) + "\n")
    elif command == "code":
        copy_code(Path(target), streams="--streams" in arguments)
    elif command == "trim-botocore":
        trim_botocore(Path(target))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
