"""``imagegate``: run the local stack, manage API keys."""

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from handler import container
from handler.cli.local import (
    DEFAULT_STATE_DIR,
    PROJECT_DIR,
    LocalStack,
    ensure_dev_key,
    provision,
    start_aws,
)
from handler.core.auth import issue_key
from handler.core.billing import DEFAULT_POLICY
from handler.core.catalog import load_catalog
from handler.core.errors import ImagegateError
from handler.core.keys import parse_key
from handler.core.ports import KeyStore
from handler.stores.keys import DynamoDBKeyStore
from handler.stores.stacks import stack_outputs

app = typer.Typer(no_args_is_help=True, help="imagegate: local stack and API keys.")
keys_app = typer.Typer(no_args_is_help=True)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)

StateDir = Annotated[
    Path, typer.Option(help="Where the local stack keeps its coordinates and dev key.")
]


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
) -> None:
    """Serve the API on the local stack: moto for DynamoDB/S3, the preview backend."""
    import uvicorn

    from handler.app import create_app

    template = PROJECT_DIR / "template.yaml"
    if not template.exists():
        raise typer.BadParameter(f"{template} not found: run from a clone of imagegate.")
    try:
        load_catalog(catalog.resolve())
    except (OSError, ValidationError) as exc:
        raise typer.BadParameter(f"{catalog}: {exc}", param_hint="--catalog") from None
    try:
        listener = socket.create_server((host, port))
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port.",
            param_hint="--port",
        ) from None
    aws = start_aws(aws_port)
    try:
        _, bound_aws_port = aws.get_host_and_port()
        stack = provision(
            f"http://127.0.0.1:{bound_aws_port}",
            template,
            catalog.resolve(),
            real_aws=real_aws,
        )
        stack.save(state_dir)
        api_key = ensure_dev_key(state_dir)
        bound_port = listener.getsockname()[1]
        err.print(
            f"[bold]imagegate[/] local stack: AWS stand-in at {stack.aws_endpoint_url}, "
            "backend 'preview' (a stand-in picture, not a model)."
        )
        # Two lines for scripts, on stdout; the socket already accepts connections.
        typer.echo(f"IMAGEGATE_BASE_URL=http://{host}:{bound_port}/v1")
        typer.echo(f"IMAGEGATE_API_KEY={api_key}")
        server = uvicorn.Server(uvicorn.Config(create_app(), log_level="info"))
        server.run(sockets=[listener])
    finally:
        listener.close()
        aws.stop()
        (state_dir / "local.json").unlink(missing_ok=True)


@contextmanager
def _reported() -> Iterator[None]:
    """An operator sees one line saying what went wrong, not a traceback."""
    try:
        yield
    except (ImagegateError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@dataclass(frozen=True)
class Target:
    """Which deployment a command acts on; resolved only when a command needs it."""

    local: bool
    stack: str | None
    table: str | None
    state_dir: Path

    def key_store(self) -> KeyStore:
        if sum((self.local, self.stack is not None, self.table is not None)) != 1:
            raise typer.BadParameter(
                "Say which deployment: imagegate keys --local | --stack NAME | --table NAME ..."
            )
        if self.local:
            LocalStack.load(self.state_dir).activate()
            return container.key_store()
        table = self.table
        if self.stack is not None:
            outputs = stack_outputs(self.stack)
            if "KeysTableName" not in outputs:
                raise typer.BadParameter(f"Stack {self.stack} has no KeysTableName output.")
            table = outputs["KeysTableName"]
        assert table is not None
        return DynamoDBKeyStore(table)


@keys_app.callback()
def keys_target(
    ctx: typer.Context,
    local: Annotated[bool, typer.Option("--local", help="The running local stack.")] = False,
    stack: Annotated[
        str | None, typer.Option(help="A deployed stack, by name (standard AWS configuration).")
    ] = None,
    table: Annotated[str | None, typer.Option(help="A keys table, by name.")] = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Create, list and revoke API keys of the deployment named by one of the options."""
    ctx.obj = Target(local, stack, table, state_dir)


AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What the key is for.")],
    as_json: AsJson = False,
) -> None:
    """Create a key. Its plaintext is printed once and stored nowhere."""
    with _reported():
        new = issue_key(ctx.obj.key_store(), name, DEFAULT_POLICY, now=int(time.time()))
    if as_json:
        typer.echo(json.dumps({"key_id": new.key_id, "name": name, "api_key": new.plaintext}))
        return
    err.print(f"Created key [bold]{new.key_id}[/] ({name}). It is shown only this once:")
    typer.echo(new.plaintext)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List keys (ids and names; secrets are never stored)."""
    with _reported():
        records = ctx.obj.key_store().list()
    if as_json:
        rows = [
            {
                "key_id": r.key_id,
                "name": r.name,
                "status": r.status,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in records
        ]
        typer.echo(json.dumps(rows))
        return
    view = Table("key id", "name", "status", "created (UTC)")
    for r in records:
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at))
        view.add_row(r.key_id, r.name, r.status, created)
    Console().print(view)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id, or the whole key.")],
) -> None:
    """Revoke a key: its next request gets 401."""
    with _reported():
        key_id = parse_key(key).key_id if key.startswith("ig_") else key
        record = ctx.obj.key_store().revoke(key_id, at=int(time.time()))
    err.print(f"Revoked key [bold]{record.key_id}[/] ({record.name}).")


def main() -> None:
    app()
