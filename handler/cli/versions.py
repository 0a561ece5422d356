"""``imagegate prune-versions``: delete the API function's versions nothing serves.

Every deploy that changes the API function publishes a version (``AutoPublishAlias: live``),
and with SnapStart each published version keeps a snapshot, billed while it is cached. Only
the version ``live`` points to serves; the one before it is kept for a rollback
(``--keep``), and any version another alias names is never touched.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from handler.cli.samconfig import SAMCONFIG, SamConfig
from handler.cli.target import reported
from handler.core.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient


@dataclass(frozen=True)
class Pruning:
    kept: list[str]  # versions an alias names, and the newest others kept for rollback
    deleted: list[str]


def prune(client: "LambdaClient", function: str, keep: int) -> Pruning:
    """Delete the numbered versions of ``function`` that no alias names, but the ``keep``
    newest of them."""
    aliased: set[str] = set()
    for page in client.get_paginator("list_aliases").paginate(FunctionName=function):
        for alias in page["Aliases"]:
            aliased.add(alias["FunctionVersion"])
            weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
            aliased.update(weights)  # a version taking part of an alias's traffic
    versions = []
    listing = client.get_paginator("list_versions_by_function").paginate(FunctionName=function)
    for listed in listing:
        versions += [v["Version"] for v in listed["Versions"] if v["Version"] != "$LATEST"]
    spare = sorted((v for v in versions if v not in aliased), key=int, reverse=True)
    doomed = spare[keep:]
    for version in doomed:
        client.delete_function(FunctionName=function, Qualifier=version)
    return Pruning(kept=sorted(set(versions) - set(doomed), key=int), deleted=doomed)


def prune_versions(
    stack: Annotated[str, typer.Option(help="The deployed stack, by name.")] = "imagegate",
    region: Annotated[
        str | None, typer.Option(help="Its region (default: samconfig.toml's, else AWS's).")
    ] = None,
    keep: Annotated[
        int, typer.Option(min=0, help="Versions no alias names to keep, newest first.")
    ] = 1,
) -> None:
    """Delete the API function's versions that no alias serves (their SnapStart snapshots
    are billed while cached); `make deploy` runs it after each deploy."""
    import boto3  # here, not at the top: `imagegate --help` does without it
    from botocore.exceptions import BotoCoreError, ClientError

    from handler.cli.stacks import stack_outputs

    region = region or SamConfig.load(SAMCONFIG).region
    with reported():
        outputs = stack_outputs(stack, boto3.client("cloudformation", region_name=region))
        function = outputs.get("ApiFunctionArn")
        if function is None:
            raise StorageError(f"Stack {stack} has no ApiFunctionArn output.")
        region, name = function.split(":")[3], function.split(":")[-1]  # arn:…:REGION:…:NAME
        try:
            pruned = prune(boto3.client("lambda", region_name=region), name, keep)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Could not prune the versions of {name}: {exc}") from exc
    deleted = ", ".join(pruned.deleted) or "none"
    typer.echo(f"{name}: deleted versions {deleted}; kept {', '.join(pruned.kept) or 'none'}.")
