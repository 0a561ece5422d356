"""This machine's stand-in for a function's artifact, to import its handler from and time its
init phase (``tests/integration/test_function_artifacts.py``, ``bench/cold_start.py``).

The artifacts ``make build`` makes are for Lambda's arm64: their compiled wheels (pydantic-core,
Pillow, cryptography) load on no other machine. The stand-in holds the same distributions at
the same versions (those installed here, from constraints.txt), built for this machine: the
function's requirements and, from their metadata, all they depend on, as pip resolves them for
the artifact; the package but its CLI, the catalog, botocore's data trimmed as the artifact's.
``tests/artifact_check.py`` holds each built artifact's distributions to the same set.
"""

import compileall
import py_compile
import re
import shutil
from collections.abc import Callable, Iterable
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

from handler.cli.artifacts import (
    BOTOCORE_SHARED,
    BOTOCORE_SHARED_ALSO,
    ROOT,
    botocore_services,
    copy_code,
    functions,
    trim_botocore,
)

STREAMING = {"StreamFunction"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: Iterable[str]) -> dict[str, Distribution]:
    """The installed distributions ``requirements`` need, by canonical name: theirs too."""
    found: dict[str, Distribution] = {}
    pending = [Requirement(text) for text in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        try:
            found[name] = found.get(name) or distribution(name)
        except PackageNotFoundError as missing:
            raise LookupError(f"{name} is not installed here") from missing
        for text in found[name].requires or []:
            needed = Requirement(text)
            wanted = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if needed.marker is None or any(needed.marker.evaluate(env) for env in wanted):
                pending.append(needed)
    return found


def stand_in(function: str, target: Path, *, compiled: bool = True) -> Path:
    """``function``'s artifact for this machine, in ``target`` (made anew): the installed
    distributions linked, botocore and the package copied (``compiled`` as the build does)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, found in closure(functions()[function]).items():
        for top in _top_levels(found):
            source = Path(str(found.locate_file(top)))
            if name == "botocore" and top == "botocore":
                shutil.copytree(source, target / top, ignore=_unkept(source / "data"))
            elif not (target / top).exists():
                (target / top).symlink_to(source)
    trim_botocore(target)
    copy_code(target, streams=function in STREAMING)
    shutil.copy(ROOT / "infra" / "catalog.json", target / "catalog.json")
    for copied in (target / "handler", target / "botocore") if compiled else ():
        compileall.compile_dir(
            copied,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    return target


def _unkept(data: Path) -> Callable[[str, list[str]], set[str]]:
    """What copying botocore leaves behind: bytecode, and the data ``trim_botocore`` drops."""
    kept = set(botocore_services()) | set(BOTOCORE_SHARED + BOTOCORE_SHARED_ALSO)

    def ignored(folder: str, names: list[str]) -> set[str]:
        dropped = {"__pycache__"} & set(names)
        return dropped | (set(names) - kept if Path(folder) == data else set())

    return ignored


def _top_levels(found: Distribution) -> set[str]:
    """The entries a distribution puts in site-packages (packages, modules, its dist-info),
    not its scripts."""
    return {
        file.parts[0]
        for file in found.files or []
        if file.parts[0] not in ("..", "__pycache__") and not file.parts[0].endswith(".pth")
    }
