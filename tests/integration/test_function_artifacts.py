"""Each function's handler imports from its own artifact alone, and its init phase makes
everything its invocations may use there.

The artifacts ``make build`` makes are for arm64, whose compiled wheels this machine cannot
load; the stand-in (``handler/cli/host_artifacts.py``) holds the same distributions at the same
versions, built for this machine (``tests/artifact_check.py`` holds each built artifact's
distributions to the same set). A fresh Python without its site-packages (``-S -s``), the
stand-in alone on its path, as ``/var/task`` is in Lambda, with the template's environment:
the init phase that makes everything (SnapStart's, provisioned concurrency's) imports the
function's services, every route module of its app and the catalog's backends; then every
module of ``handler/`` its import graph reaches is imported, and every distribution imported
anywhere in them, inside a function too (Stripe's, Pillow's), is found; and a client of every
service whose data botocore keeps is made from the trimmed data.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from handler.cli.artifacts import botocore_services
from handler.cli.deployed import deployed_environment, function_entries
from handler.cli.host_artifacts import stand_in
from tests.import_graph import reach

ENTRIES = function_entries()
PROBE = """
import importlib, importlib.util, json, sys
asked = json.loads(sys.argv[1])
loaded = importlib.import_module(asked["entry"])
if asked["factory"]:
    getattr(loaded, asked["factory"])()  # the web app the adapter's server makes
failed = {}
for module in asked["modules"]:
    try:
        importlib.import_module(module)
    except ImportError as error:
        failed[module] = repr(error)
missing = [top for top in asked["outside"] if importlib.util.find_spec(top) is None]
import boto3  # a client of every service the trimmed data keeps, made from it
clients = [boto3.client(service).meta.service_model.service_name for service in asked["services"]]
print(json.dumps({"failed": failed, "missing": missing, "path": sys.path, "clients": clients}))
"""


@pytest.mark.parametrize("function", sorted(ENTRIES))
def test_a_handler_imports_from_its_own_artifact_and_makes_everything_there(
    function: str, tmp_path: Path
) -> None:
    # Given the function's artifact, built for this machine, alone on the path
    artifact = stand_in(function, tmp_path / function, compiled=False)
    module, _, factory = ENTRIES[function].partition(":")
    reached = reach(module)
    environment = {
        **deployed_environment(function),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",  # the init phase that makes everything
        "PYTHONPATH": str(artifact),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # When a fresh Python imports its handler there, then every module its code reaches
    asked = {
        "entry": module,
        "factory": factory,
        "modules": sorted(reached.modules),
        "outside": sorted(set(reached.outside) - {"snapshot_restore_py"}),
        "services": botocore_services(),
    }
    done = subprocess.run(
        [sys.executable, "-S", "-s", "-c", PROBE, json.dumps(asked)],
        cwd=artifact,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then the init phase made everything, and nothing was missing
    assert done.returncode == 0, done.stderr[-3000:]
    assert "initialization failed" not in done.stdout + done.stderr, done.stdout[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["failed"] == {}
    assert found["missing"] == []
    assert found["clients"] == botocore_services()
    assert str(artifact) in found["path"]
    assert not [entry for entry in found["path"] if "site-packages" in entry]
