"""``imagegate``: run the local stack, manage API keys, report usage, run batches, check an
account before a deploy."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

# Each command imports what it runs on (boto3, pydantic, the stores) when it runs: the
# modules here hold only the commands' signatures, so `imagegate --help` starts at once
# (bench/cold_start.py measures it; tests/integration/test_cold_start.py keeps it so).
from handler.cli import key_changes  # noqa: F401 - its commands join keys_app
from handler.cli.batch import batch_app
from handler.cli.billing import billing_app
from handler.cli.keys import keys_app
from handler.cli.local import (
    DEFAULT_STATE_DIR,
    PROJECT_DIR,
    ensure_dev_key,
    local_stripe,
    provision,
    start_runtime,
)
from handler.cli.local_aws import LocalAws
from handler.cli.local_stacks import stack_file
from handler.cli.preflight.command import preflight
from handler.cli.signals import stop_signals, wait_for
from handler.cli.target import StateDir, err
from handler.cli.usage import usage
from handler.cli.versions import prune_versions

app = typer.Typer(no_args_is_help=True, help="imagegate: local stack, API keys, usage and batches.")


def _parameters(overrides: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs, each given alone or several in one space-separated string."""
    pairs: dict[str, str] = {}
    for given in (pair for override in overrides for pair in override.split()):
        name, sep, value = given.partition("=")
        if not sep or not name:
            raise typer.BadParameter(
                f"{given!r} is not NAME=VALUE", param_hint="--parameter-overrides"
            )
        pairs[name] = value
    return pairs


@app.command()
def dev(
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port (0 picks a free one).")] = 8000,
    aws_port: Annotated[int, typer.Option(help="Port of the local AWS stand-in (0: any).")] = 0,
    catalog: Annotated[Path, typer.Option(help="The model catalog to serve.")] = (
        PROJECT_DIR / "infra" / "catalog.json"
    ),
    real_aws: Annotated[
        bool,
        typer.Option(
            "--real-aws",
            help="Keep your AWS configuration (profile, region) for SageMaker endpoints; "
            "DynamoDB and S3 stay local.",
        ),
    ] = False,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    parameter_overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter-overrides",
            help="NAME=VALUE of a template parameter, as sam deploy takes it "
            "(SignUp=open SignUpStartingCredit=5.00); repeat for more.",
        ),
    ] = None,
) -> None:
    """Serve the API on the local stack: moto for DynamoDB/S3/SQS, the preview backend, the
    API function behind a local API Gateway, and the queue-fed functions polling their
    queues."""
    from pydantic import ValidationError

    from handler.cli.gateway import Gateway, GatewayServer, RestApi
    from handler.cli.members import ensure_operator
    from handler.cli.template import Template
    from handler.core.catalog import load_catalog

    template_path = PROJECT_DIR / "template.yaml"
    if not template_path.exists():
        raise typer.BadParameter(f"{template_path} not found: run from a clone of imagegate.")
    try:
        load_catalog(catalog.resolve())
    except (OSError, ValidationError) as exc:
        raise typer.BadParameter(f"{catalog}: {exc}", param_hint="--catalog") from None
    parameters = _parameters(parameter_overrides or [])
    try:
        template = Template.load(template_path, parameters)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--parameter-overrides") from None
    api = RestApi.from_template(template)
    try:
        server = GatewayServer(host, port)
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port.",
            param_hint="--port",
        ) from None
    # This stack's own description: another stack run from the same state dir has its own.
    described = stack_file(state_dir, server.port)
    try:
        aws = LocalAws(aws_port).start()
    except BaseException:
        server.close()
        raise
    cards = local_stripe()
    try:
        stack = provision(
            f"http://127.0.0.1:{aws.port}",
            template_path,
            catalog.resolve(),
            real_aws=real_aws,
            cards=cards,
            parameters=parameters,
        )
        stack = replace(stack, api_base_url=f"http://{host}:{server.port}/{api.stage}/v1")
        stack.save(described)
        runtime = start_runtime(stack, template_path)
        api_key = ensure_dev_key(state_dir)
        from handler.cli.signing_chain import write_trust_anchor

        trust_anchor = write_trust_anchor(state_dir, server.port)
        operator = ensure_operator(stack.environment["IMAGEGATE_USER_POOL_ID"], state_dir)
        server.start(Gateway(api))
        # Stripe's events reach the API as they would deployed: through the gateway.
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        cards.endpoints.append(f"http://{reachable}:{server.port}/{api.stage}/webhooks/stripe")
        with stop_signals() as stop:
            err.print(
                f"[bold]imagegate[/] local stack: AWS stand-in at {stack.aws_endpoint_url}, "
                f"Stripe stand-in at {cards.url}, backend 'preview' (a stand-in picture, not "
                "a model). Ctrl-C stops it."
            )
            console = f"http://{host}:{server.port}/{api.stage}/console/"
            sign_up = stack.environment.get("IMAGEGATE_SIGN_UP", "invitation")
            err.print(
                f"Console: {console} (members sign in by email, sign-up: {sign_up}; or with "
                "the key below)"
            )
            err.print(
                f"Operator (Cognito, group operators): {operator[0]}, password {operator[1]} "
                f"(kept in {state_dir / 'operator-password'})"
            )
            err.print(
                f"Images are signed (C2PA) by a test chain of this run; its CA: {trust_anchor}"
            )
            err.print(
                f"Described in {described}: `imagegate keys --local` finds it there "
                f"(with --port {server.port} where several stacks run from {state_dir})."
            )
            # Two lines for scripts, on stdout; the server already answers.
            typer.echo(f"IMAGEGATE_BASE_URL={stack.api_base_url}")
            typer.echo(f"IMAGEGATE_API_KEY={api_key}")
            try:
                wait_for(stop)
            finally:
                server.stop()
                runtime.stop()
    finally:
        server.close()
        cards.stop()
        aws.stop()
        described.unlink(missing_ok=True)


app.add_typer(keys_app, name="keys")
app.add_typer(batch_app, name="batch")
app.add_typer(billing_app, name="billing")
app.command()(usage)
app.command()(preflight)
app.command("prune-versions")(prune_versions)


def main() -> None:
    app()
