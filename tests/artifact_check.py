"""Checks a built API function artifact: what it holds, what it leaves out, how big it is.

python tests/artifact_check.py .aws-sam/build/ApiFunction
"""

import hashlib
import io
import sys
import zipfile
from pathlib import Path

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


def main(artifact: Path) -> int:
    problems = []
    # uvicorn and run.sh: StreamFunction's web server, behind the Lambda Web Adapter.
    required_files = ("handler/main.py", "catalog.json", "fastapi", "mangum", "PIL", "uvicorn")
    for required in required_files + CONSOLE:
        if not (artifact / required).exists():
            problems.append(f"missing {required}")
    run = artifact / "run.sh"
    if not run.exists() or not run.stat().st_mode & 0o111:
        problems.append("run.sh, StreamFunction's entry, is missing or not executable")
    if (artifact / "handler" / "cli").exists():
        problems.append("the CLI (dev tooling) was shipped")
    # Exactly the modules outside handler/cli: nothing CLI-only, nothing missing.
    source = Path(__file__).resolve().parents[1] / "handler"
    expected = {
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if source / "cli" not in path.parents
    }
    shipped_modules = {
        path.relative_to(artifact / "handler").as_posix()
        for path in (artifact / "handler").rglob("*.py")
    }
    problems += [f"CLI-only module shipped: handler/{name}" for name in shipped_modules - expected]
    problems += [f"module missing: handler/{name}" for name in expected - shipped_modules]
    shipped = {path.name.lower() for path in artifact.iterdir()}
    problems += [f"dev-only package {name} shipped" for name in DEV_ONLY if name in shipped]
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
        f"{artifact}: {len(files)} files, {unzipped / 2**20:.1f} MiB unzipped, "
        f"{len(buffer.getvalue()) / 2**20:.1f} MiB zipped, "
        f"{len(catalog.models)} catalog model(s)\n"
    )
    problems += _bytecode(artifact)
    problems += _differing_functions(artifact)
    for problem in problems:
        sys.stdout.write(f"problem: {problem}\n")
    return 1 if problems else 0


def _bytecode(artifact: Path) -> list[str]:
    """Either no bytecode (built where Lambda's Python was missing), or bytecode of Lambda's
    Python for every module, usable without checking its source (``/var/task`` is read-only
    and the artifact never changes)."""
    compiled = list(artifact.rglob("__pycache__/*.pyc"))
    sources = [path for path in artifact.rglob("*.py") if "__pycache__" not in path.parts]
    if not compiled:
        sys.stdout.write(f"{artifact}: source only (no bytecode)\n")
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
    sys.stdout.write(f"{artifact}: bytecode of {TAG} for {len(sources) - len(missing)} modules\n")
    return problems


def _differing_functions(artifact: Path) -> list[str]:
    """Every function of the stack ships the same artifact (built once): the other functions'
    build directories beside this one hold the same files, byte for byte."""
    contents = _contents(artifact)
    return [
        f"{other.name} differs from {artifact.name}"
        for other in sorted(artifact.parent.glob("*Function"))
        if other != artifact and _contents(other) != contents
    ]


def _contents(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in directory.rglob("*")
        if path.is_file()
    }


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
