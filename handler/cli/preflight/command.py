"""``imagegate preflight``: the checks, run against the account and region ``sam deploy``
would use (``--region``/``--profile``, else samconfig.toml's, else the environment's)."""

from pathlib import Path
from typing import Annotated

import typer

from handler.cli.local import PROJECT_DIR
from handler.cli.preflight.findings import failed, render
from handler.cli.target import reported


def preflight(
    region: Annotated[
        str | None, typer.Option(help="The deploy's region (default: samconfig.toml's).")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="The AWS profile (default: samconfig.toml's).")
    ] = None,
    catalog: Annotated[Path, typer.Option(help="The model catalog the deploy ships.")] = (
        PROJECT_DIR / "infra" / "catalog.json"
    ),
    template: Annotated[Path, typer.Option(help="The SAM template.")] = (
        PROJECT_DIR / "template.yaml"
    ),
    config: Annotated[Path, typer.Option(help="sam's settings.")] = PROJECT_DIR / "samconfig.toml",
    parameters: Annotated[
        str | None,
        typer.Option(help='Parameters the deploy sets besides samconfig.toml\'s: "Key=Value …".'),
    ] = None,
) -> None:
    """Check what a deploy to this account and region would run into (Lambda concurrency,
    SnapStart, Bedrock models, SageMaker endpoints, secrets), with read-only calls. Exits 1
    when something would fail."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from handler.cli.preflight.account import Account
    from handler.cli.preflight.checks import run
    from handler.cli.preflight.deployment import Deployment
    from handler.cli.samconfig import SamConfig
    from handler.cli.template import Template
    from handler.core.catalog import load_catalog

    settings = SamConfig.load(config).given(parameters)
    with reported():
        deployment = Deployment.of(Template.load(template), settings)
        served = load_catalog(catalog)
    try:
        session = boto3.Session(
            profile_name=profile or settings.profile, region_name=region or settings.region
        )
    except BotoCoreError as exc:  # a profile that is not configured
        raise typer.BadParameter(str(exc), param_hint="--profile") from None
    if session.region_name is None:
        raise typer.BadParameter(
            "no region: give one, or set it in samconfig.toml or AWS_REGION",
            param_hint="--region",
        )
    if session.get_credentials() is None:
        raise typer.BadParameter("no AWS credentials found", param_hint="--profile")
    findings = run(deployment, served, Account(session, session.region_name))
    typer.echo(render(findings))
    if failed(findings):
        raise typer.Exit(1)
