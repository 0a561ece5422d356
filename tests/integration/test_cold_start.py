"""Lambda's init phase: importing the entry does no work and loads neither the HTTP app nor a
backend (nor Pillow, nor httpcore); in Lambda it builds the app and the clients, and loads the
backends of the catalog's models, never the others; a SnapStart restore gives each copy its own
randomness and clients."""

import json
import os
import random
import subprocess
import sys
import types
from pathlib import Path

import pytest

from handler import container, main
from tests.support import ROOT

PROBE = """
import json, sys
import handler.main as main
from handler import container
print(json.dumps({
    "app_built": main._asgi.cache_info().currsize,
    "service_made": container.generation_service.cache_info().currsize,
    "modules": sorted(m for m in sys.modules
                      if m.startswith(("handler.backends.", "replicate", "aws_xray_sdk",
                                       "handler.app", "PIL", "httpcore"))),
}))
"""


def _probe(environment: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, **environment, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def _catalog_of(tmp_path: Path, backend: str) -> str:
    catalog = json.loads((ROOT / "infra" / "catalog.json").read_text())
    models = [model for model in catalog["models"] if model["backend"] == backend]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"default_model": models[0]["id"], "models": models}))
    return str(path)


def test_importing_the_entry_does_no_work_and_loads_no_backend() -> None:
    probe = _probe({})
    assert probe == {"app_built": 0, "service_made": 0, "modules": []}


def test_lambdas_init_phase_builds_the_app_and_loads_only_the_catalogs_backends(
    tmp_path: Path,
) -> None:
    probe = _probe(
        {
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": "handler.main.api_handler",
            "IMAGEGATE_CATALOG_FILE": _catalog_of(tmp_path, "preview"),
        }
    )
    assert (probe["app_built"], probe["service_made"]) == (1, 1)
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert {"handler.backends.preview", "handler.app", "PIL"} <= set(modules)
    assert not [m for m in modules if "replicate" in m or "sagemaker" in m or "xray" in m]


def test_a_queue_functions_init_makes_its_clients_but_not_the_app(tmp_path: Path) -> None:
    probe = _probe(
        {
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": "handler.main.worker_handler",
            "IMAGEGATE_CATALOG_FILE": _catalog_of(tmp_path, "replicate"),
        }
    )
    assert (probe["app_built"], probe["service_made"]) == (0, 1)
    modules = probe["modules"]
    assert isinstance(modules, list)
    assert "replicate" in modules  # the catalog's backend, for the lines it runs
    assert "handler.app" not in modules
    assert "handler.backends.preview" not in modules


@pytest.mark.usefixtures("aws")
def test_a_restored_copy_gets_its_own_randomness_and_clients_and_keeps_the_app() -> None:
    main.initialize()
    app, catalog, store = main._asgi(), container.catalog(), container.key_store()
    random.seed(7)  # as the snapshot would have it: every copy at the same point
    before = random.getstate()
    main.after_restore()
    assert random.getstate() != before
    assert container.key_store() is not store
    assert main._asgi() is app
    assert container.catalog() is catalog
    # and it still serves
    assert container.generation_service().catalog is catalog


def test_the_restore_hook_is_registered_where_the_runtime_offers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[object] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    main._snapstart_hooks()
    assert registered == [main.after_restore]


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
