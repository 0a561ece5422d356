"""Checks the functions' built artifacts: what each holds, what it leaves out, how big it is.

python tests/artifact_check.py .aws-sam/build
"""

import io
import sys
import zipfile
from pathlib import Path

from handler.cli.artifacts import (
    BOTOCORE_SHARED,
    BOTOCORE_SHARED_ALSO,
    botocore_services,
    functions,
)
from handler.cli.deployed import function_entries
from handler.cli.host_artifacts import STREAMING, canonical, closure
from handler.core.catalog import load_catalog

# Lambda's limit for a function's unzipped code; a zip over 50 MB must go through S3,
# which `sam deploy` does anyway.
UNZIPPED_LIMIT = 250 * 1024 * 1024
# The runtime's bytecode, and the .pyc header flag of ``--invalidation-mode unchecked-hash``.
TAG = "cpython-313"
UNCHECKED_HASH = (1).to_bytes(4, "little")
# The console's files: served from the artifact, never from a CDN.
CONSOLE = tuple(
    f"handler/console/{name}"
    for name in ("index.html", "console.js", "console.css", "icon.png", "vendor/chart.umd.min.js")
)
DEV_ONLY = ("moto", "typer", "rich", "yaml", "pytest", "openai", "mypy", "ruff")
SOURCE = Path(__file__).resolve().parents[1] / "handler"


def main(built: Path) -> int:
    problems = []
    for function, entry in function_entries().items():
        artifact = built / function
        found = _function(function, entry.split(":")[0], artifact)
        problems += [f"{function}: {problem}" for problem in found]
    for problem in problems:
        sys.stdout.write(f"problem: {problem}\n")
    return 1 if problems else 0


def _function(function: str, entry: str, artifact: Path) -> list[str]:
    problems = []
    required = (f"{entry.replace('.', '/')}.py", "catalog.json", *CONSOLE)
    problems += [f"missing {path}" for path in required if not (artifact / path).exists()]
    run = artifact / "run.sh"
    if function in STREAMING and not (run.exists() and run.stat().st_mode & 0o111):
        problems.append("run.sh, its entry, is missing or not executable")
    if function not in STREAMING and run.exists():
        problems.append("run.sh shipped to a function the web adapter does not run")
    problems += _modules(artifact)
    problems += _distributions(function, artifact)
    problems += _botocore(artifact)
    native = sorted(p.name for p in artifact.rglob("*.so") if "x86_64" in p.name)
    if native:
        problems.append(f"x86_64 binaries in an arm64 artifact: {native[:3]}")
    catalog = load_catalog(artifact / "catalog.json")  # refuses an inconsistent catalog
    files = [path for path in artifact.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    if unzipped > UNZIPPED_LIMIT:
        problems.append(f"{unzipped / 2**20:.1f} MiB unzipped is over Lambda's 250 MiB")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(artifact))
    sys.stdout.write(
        f"{function}: {len(files)} files, {unzipped / 2**20:.1f} MiB unzipped, "
        f"{len(buffer.getvalue()) / 2**20:.1f} MiB zipped, "
        f"{len(catalog.models)} catalog model(s)\n"
    )
    return problems + _bytecode(function, artifact)


def _modules(artifact: Path) -> list[str]:
    """Exactly the package's modules outside handler/cli: nothing CLI-only, nothing missing."""
    expected = {
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*.py")
        if SOURCE / "cli" not in path.parents
    }
    shipped = {
        path.relative_to(artifact / "handler").as_posix()
        for path in (artifact / "handler").rglob("*.py")
    }
    return [f"CLI-only module shipped: handler/{name}" for name in shipped - expected] + [
        f"module missing: handler/{name}" for name in expected - shipped
    ]


def _distributions(function: str, artifact: Path) -> list[str]:
    """The distributions its code imports and theirs, at the versions installed here (both
    from constraints.txt), and no other: what the import test loaded its handler from."""
    wanted = {f"{name}=={found.version}" for name, found in closure(functions()[function]).items()}
    shipped = set()
    for info in artifact.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        shipped.add(f"{canonical(name)}=={version}")
    dev = [name for name in DEV_ONLY if (artifact / name).exists()]
    return (
        [f"ships {name}, which its code does not need" for name in sorted(shipped - wanted)]
        + [f"lacks {name}" for name in sorted(wanted - shipped)]
        + [f"dev-only package {name} shipped" for name in dev]
    )


def _botocore(artifact: Path) -> list[str]:
    data = artifact / "botocore" / "data"
    kept = {entry.name for entry in data.iterdir()}
    wanted = set(botocore_services()) | set(BOTOCORE_SHARED + BOTOCORE_SHARED_ALSO)
    compressed = sorted(str(path.relative_to(data)) for path in data.rglob("*.json.gz"))
    return (
        [f"botocore data for {sorted(kept - wanted)}, which no client uses"] * bool(kept - wanted)
        + [f"no botocore data for {sorted(wanted - kept)}"] * bool(wanted - kept)
        + [f"botocore data left compressed: {compressed[:3]}"] * bool(compressed)
    )


def _bytecode(function: str, artifact: Path) -> list[str]:
    """Either no bytecode (built where Lambda's Python was missing), or bytecode of Lambda's
    Python for every module, usable without checking its source (``/var/task`` is read-only
    and the artifact never changes)."""
    compiled = list(artifact.rglob("__pycache__/*.pyc"))
    sources = [path for path in artifact.rglob("*.py") if "__pycache__" not in path.parts]
    if not compiled:
        sys.stdout.write(f"{function}: source only (no bytecode)\n")
        return []
    problems = [f"bytecode of another Python: {path}" for path in compiled if TAG not in path.name]
    # imagegate's own modules, every one (a dependency's file that does not compile, some
    # packages ship such, stays source: it is never imported)
    missing = [
        path
        for path in sources
        if artifact / "handler" in path.parents
        and not (path.parent / "__pycache__" / f"{path.stem}.{TAG}.pyc").exists()
    ]
    problems += [f"{len(missing)} module(s) without bytecode, e.g. {missing[0]}"] if missing else []
    checked = [path for path in compiled if path.read_bytes()[4:8] != UNCHECKED_HASH]
    problems += [f"{len(checked)} .pyc checked against their source"] if checked else []
    return problems


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
