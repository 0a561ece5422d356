"""Each function's artifact ships what its code imports, and no more: pyproject.toml's
``[tool.imagegate.functions]`` lists, per function, exactly the distributions its handler's
import graph reaches (tests/import_graph.py), so adding an import of a package to a function's
path fails here until that function ships it; and the botocore data the artifacts keep are the
services the code makes clients of, so a new client fails here until its data is kept."""

import ast
import tomllib

import pytest

from handler.cli.artifacts import botocore_services, functions
from handler.cli.deployed import function_entries
from handler.cli.host_artifacts import canonical, closure
from tests.import_graph import distributions, reach, shipped_modules
from tests.support import ROOT

ENTRIES = function_entries()
# What starts a web app behind the Lambda Web Adapter (infra/web-adapter/run.sh).
WEB_SERVER = {"uvicorn"}
# Powertools' utilities that make a client of their own: the service each calls.
POWERTOOLS_CLIENTS = {"aws_lambda_powertools.utilities.parameters": "secretsmanager"}
CLIENT_MAKERS = {"client", "invocation_client", "session_client"}


def test_every_function_of_the_template_has_its_list() -> None:
    assert set(functions()) == set(ENTRIES)


@pytest.mark.parametrize("function", sorted(ENTRIES))
def test_a_function_ships_the_distributions_its_code_imports(function: str) -> None:
    entry = ENTRIES[function]
    reached = reach(entry.split(":")[0])
    imported = distributions(reached.outside) | (WEB_SERVER if ":" in entry else set())
    listed = {canonical(name) for name in functions()[function]}
    assert listed == imported, (
        f"{function}: pyproject.toml lists {sorted(listed - imported)} that its code does not "
        f"import, and leaves out {sorted(imported - listed)} that it does "
        f"(imported by: {reached.outside})"
    )


def test_what_the_functions_ship_the_project_depends_on() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = set(closure(project))
    listed = {canonical(name) for names in functions().values() for name in names}
    assert listed <= installed


def test_stripe_ships_only_with_the_functions_that_take_cards() -> None:
    takes_cards = {f for f, names in functions().items() if "stripe" in names}
    assert takes_cards == {"ApiFunction", "MemberApiFunction", "ReloadFunction"}


def _clients_made(module: str) -> set[str]:
    """The services ``module`` makes a client of: a string literal given to a client maker
    (``boto3.client("s3")``, ``invocation_client("bedrock-runtime", ...)``), and Powertools'
    utilities that make their own."""
    tree = ast.parse(shipped_modules()[module].read_text())
    services = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name in CLIENT_MAKERS:
                services |= {
                    arg.value
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                }
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                names += [f"{node.module}.{alias.name}" for alias in node.names]
            services |= {POWERTOOLS_CLIENTS[n] for n in names if n in POWERTOOLS_CLIENTS}
    return services


def test_the_artifacts_keep_botocore_data_for_every_client_the_code_makes() -> None:
    made = set().union(*(_clients_made(module) for module in shipped_modules()))
    assert made == set(botocore_services()), (
        f"the code makes clients of {sorted(made - set(botocore_services()))} whose data the "
        f"artifacts leave out (pyproject.toml's botocore-services), and the artifacts keep "
        f"{sorted(set(botocore_services()) - made)} that no client uses"
    )
