"""The functions as ``template.yaml`` deploys them, to start here as Lambda starts them: each
one's entry module, and its environment with the template's defaults (what a deploy without
overrides gives it), the stack's resources named as a stack names them. Nothing is called: an
init phase reads names, it does not reach the resources.

``bench/cold_start.py`` times each function's init phase with them, and
``tests/integration/test_function_artifacts.py`` imports each handler from its artifact so.
"""

import io
import os
import zipfile
from pathlib import Path

from handler.cli.template import Template

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "imagegate"


def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def function_entries() -> dict[str, str]:
    """Each function's entry: its handler's module, or ``module:factory`` of the web app a
    function run by the Lambda Web Adapter serves (``run.sh``)."""
    entries = {}
    for function, properties in template().resources("AWS::Serverless::Function").items():
        handler = properties["Handler"]
        if handler == "run.sh":
            entries[function] = properties["Environment"]["Variables"]["IMAGEGATE_WEB_APP"]
        else:
            entries[function] = handler.rsplit(".", 1)[0]
    return entries


def _names(stack: Template) -> dict[str, str]:
    """What !Ref and !GetAtt give for each resource of a deployed stack (made-up, alike)."""
    names: dict[str, str] = {}
    for logical_id, resource in stack.body["Resources"].items():
        physical = f"{STACK}-{logical_id}-1A2B3C4D5E6F"
        kind = resource["Type"]
        names[logical_id] = physical
        names[f"{logical_id}.Arn"] = (
            f"arn:aws:{kind.split('::')[1].lower()}:{REGION}:{ACCOUNT}:{physical}"
        )
        if kind == "AWS::SQS::Queue":
            names[logical_id] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
        elif kind == "AWS::SecretsManager::Secret":
            names[logical_id] = (
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}-AbCdEf"
            )
        elif kind == "AWS::Cognito::UserPool":
            names[logical_id] = f"{REGION}_AbCdEfGhI"
        elif kind == "AWS::Cognito::IdentityPool":
            names[logical_id] = f"{REGION}:0e2d4c6a-8b1f-4e3d-9c5b-7a6f8e9d0c1b"
    names["Guardrail.GuardrailId"] = "a1b2c3d4e5f6"
    return names


def deployed_environment(function: str) -> dict[str, str]:
    """``function``'s environment in Lambda: the template's, and what Lambda's runtime sets
    for an on-demand init phase (credentials made up: nothing is called)."""
    stack = template()
    properties = stack.body["Resources"][function]["Properties"]
    return {
        **stack.function_environment(function, _names(stack)),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": properties["Handler"],
        "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{function}-1A2B3C4D5E6F",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIAIMAGEGATEBENCH00",
        "AWS_SECRET_ACCESS_KEY": "imagegate-bench-not-a-secret",
        "AWS_SESSION_TOKEN": "imagegate-bench",
    }


def sizes(stands_in: Path, functions: list[str]) -> dict[str, str]:
    """Each function's artifact, unzipped and zipped: ``make build``'s (build/functions),
    else this machine's stand-in of it."""
    built = ROOT / "build" / "functions"
    found = {}
    for function in functions:
        artifact = built / function if (built / function / ".built").exists() else None
        where = "" if artifact is not None else " (stand-in)"
        artifact = artifact or stands_in / function
        files = [  # a stand-in links to the installed distributions: followed
            Path(folder, name)
            for folder, _, names in os.walk(artifact, followlinks=True)
            for name in names
        ]
        unzipped = sum(path.stat().st_size for path in files)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(artifact))
        found[function] = (
            f"{unzipped / 2**20:5.1f} MiB, {len(buffer.getvalue()) / 2**20:4.1f} MiB zipped{where}"
        )
    return found
