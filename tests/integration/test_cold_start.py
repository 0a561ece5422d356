"""Lambda's init phase: importing a function's entry does no work outside Lambda; in Lambda, on
demand, it makes what any first invocation needs and no more (the API's route modules and the
backends wait for the requests that need them); snapshotted or provisioned, it makes
everything; a SnapStart restore gives each copy its own randomness and clients."""

import gc
import json
import os
import random
import subprocess
import sys
import types
from pathlib import Path

import pytest

from handler import container
from handler.main import api, phases
from tests.support import ROOT

PROBE = """
import importlib, json, sys
entry = importlib.import_module(sys.argv[1])
generation = sys.modules.get("handler.generation_container")
print(json.dumps({
    "app_built": int(entry.served.built) if hasattr(entry, "served") else None,
    "service_made": generation.generation_service.cache_info().currsize if generation else 0,
    "modules": sorted(m for m in sys.modules
                      if m.startswith(("handler.backends.", "replicate", "aws_xray_sdk",
                                       "handler.app", "handler.api.routes.",
                                       "handler.generation_container", "PIL", "httpcore",
                                       "fastapi", "stripe", "joserfc"))),
}))
"""
FUNCTIONS = (
    "api",
    "admin_api",
    "member_api",
    "stream",
    "admin",
    "reconcile",
    "splitter",
    "worker",
    "dead_letter",
    "webhook",
    "reload",
)


def _probe(function: str, environment: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"handler.main.{function}"],
        cwd=ROOT,
        env={**os.environ, **environment, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "initialization failed" not in done.stdout + done.stderr, done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def _in_lambda(function: str, tmp_path: Path, backend: str, kind: str) -> dict[str, str]:
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    models = [model for model in catalog["models"] if model["backend"] == backend]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"default_model": models[0]["id"], "models": models}))
    return {
        "AWS_LAMBDA_INITIALIZATION_TYPE": kind,
        "_HANDLER": f"handler.main.{function}.lambda_handler",
        "IMAGEGATE_CATALOG_FILE": str(path),
        "IMAGEGATE_SERVE_PREVIEW": "true",
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_importing_an_entry_does_no_work_and_loads_no_backend(function: str) -> None:
    probe = _probe(function, {})
    assert (probe["app_built"], probe["service_made"]) in {(None, 0), (0, 0)}
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.startswith(("handler.backends.", "replicate", "PIL"))]
    assert not [m for m in modules if m.startswith(("handler.api.routes.", "httpcore", "stripe"))]


def test_the_apis_on_demand_init_builds_the_app_and_leaves_each_route_module_to_its_request(
    tmp_path: Path,
) -> None:
    probe = _probe("api", _in_lambda("api", tmp_path, "preview", "on-demand"))
    assert (probe["app_built"], probe["service_made"]) == (1, 0)
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert "handler.app" in modules
    assert not [m for m in modules if m.startswith(("handler.api.routes.", "handler.backends."))]
    assert not [m for m in modules if m.startswith(("PIL", "replicate", "stripe", "joserfc"))]


def test_a_snapshotted_init_makes_everything_and_loads_only_the_catalogs_backends(
    tmp_path: Path,
) -> None:
    probe = _probe("api", _in_lambda("api", tmp_path, "preview", "snap-start"))
    assert (probe["app_built"], probe["service_made"]) == (1, 1)
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert {"handler.backends.preview", "handler.api.routes.images", "PIL"} <= set(modules)
    assert not [m for m in modules if "replicate" in m or "sagemaker" in m or "xray" in m]


@pytest.mark.parametrize(
    ("kind", "loaded"), [("on-demand", False), ("provisioned-concurrency", True)]
)
def test_a_workers_init_makes_its_service_and_its_backends_where_it_makes_everything(
    tmp_path: Path, kind: str, loaded: bool
) -> None:
    probe = _probe("worker", _in_lambda("worker", tmp_path, "replicate", kind))
    assert probe["service_made"] == 1
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert ("replicate" in modules) is loaded  # the catalog's backend, for the lines it runs
    assert not [m for m in modules if m.startswith(("handler.app", "fastapi", "stripe"))]
    assert "handler.backends.preview" not in modules


@pytest.mark.parametrize("function", ["webhook", "reconcile", "admin", "reload"])
def test_a_function_that_generates_nothing_loads_no_app_and_no_generation(
    tmp_path: Path, function: str
) -> None:
    probe = _probe(function, _in_lambda(function, tmp_path, "preview", "on-demand"))
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.startswith(("handler.generation_container", "fastapi"))]
    assert not [m for m in modules if m.startswith(("PIL", "replicate", "handler.backends."))]


@pytest.mark.usefixtures("aws")
def test_a_restored_copy_gets_its_own_randomness_and_clients_and_keeps_the_app() -> None:
    phases.initialize(api.warm)
    app, catalog, store = api.served.entry(), container.catalog(), container.key_store()
    random.seed(7)  # as the snapshot would have it: every copy at the same point
    before = random.getstate()
    phases.after_restore(api.warm, (container.catalog,))
    assert random.getstate() != before
    assert container.key_store() is not store
    assert api.served.entry() is app
    assert container.catalog() is catalog
    # and it still serves, every route module included after the restore
    from handler import generation_container

    assert generation_container.generation_service().catalog is catalog


def test_the_restore_hook_is_registered_where_the_runtime_offers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[object] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    warmed: list[bool] = []
    phases.start(warmed.append)
    gc.unfreeze()  # what the init phase froze is this test process's
    assert gc.isenabled()
    assert warmed == [True]
    assert len(registered) == 1
    hook = registered[0]
    assert callable(hook)
    hook()
    assert warmed == [True, True]


def test_imagegate_help_loads_neither_the_aws_sdk_nor_pydantic_nor_the_stores() -> None:
    # `imagegate --help` builds every command's signature: only the commands themselves
    # import what they run on, when they run
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; sys.argv = ['imagegate', '--help']\n"
            "from handler.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
            "'boto3', 'botocore', 'pydantic', 'aws_lambda_powertools', 'httpx', "
            "'handler.stores', 'handler.money.ledger', 'handler.core.amounts')))))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
