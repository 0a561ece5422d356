"""``imagegate batch``: submit a Batch JSONL file, follow it, download what it made.

These talk to the HTTP API as any client would, so they work the same against the local stack
(the default: its URL and dev key are in the state dir) and a deployed one (``--base-url`` and
``--api-key``, or IMAGEGATE_BASE_URL and IMAGEGATE_API_KEY).
"""

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from handler.cli.local import DEFAULT_STATE_DIR
from handler.cli.local_stacks import StackNotFound
from handler.cli.target import AsJson, CurrencyOption, PortOption, StateDir, err, local_stack
from handler.cli.views import Money

if TYPE_CHECKING:  # imported by the commands that call the API
    import httpx

batch_app = typer.Typer(no_args_is_help=True)
BatchId = Annotated[str, typer.Argument(help="The batch's id (batch_...).")]
BaseUrl = Annotated[
    str | None,
    typer.Option(envvar="IMAGEGATE_BASE_URL", help="The API's base URL, ending in /v1."),
]
ApiKey = Annotated[str | None, typer.Option(envvar="IMAGEGATE_API_KEY", help="The key that pays.")]
_FINISHED = ("completed", "completed_with_errors", "cancelled", "failed")
_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Api:
    base_url: str
    api_key: str
    money: Money

    def call(self, method: str, path: str, **kwargs: Any) -> "httpx.Response":
        import httpx

        headers = {"authorization": f"Bearer {self.api_key}"}
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=60, **kwargs
            )
        except httpx.HTTPError as exc:
            err.print(f"[red]error:[/] {self.base_url} did not answer: {exc}")
            raise typer.Exit(1) from None
        if response.is_error:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            err.print(f"[red]error:[/] {response.status_code}: {message}")
            raise typer.Exit(1)
        return response


@batch_app.callback()
def batch_target(
    ctx: typer.Context,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    port: PortOption = None,
    currency: CurrencyOption = "usd",
) -> None:
    """Submit, follow and download batches (the local stack unless told otherwise)."""
    ctx.obj = (base_url, api_key, state_dir, port, currency)


def _api(ctx: typer.Context) -> Api:
    base_url, api_key, state_dir, port, currency = ctx.obj
    if base_url is None or api_key is None:
        try:
            local = local_stack(state_dir, port)
            api_key = api_key or (state_dir / "dev-key").read_text().strip()
        except (FileNotFoundError, StackNotFound) as exc:
            err.print(f"[red]error:[/] {exc} Or give --base-url and --api-key.")
            raise typer.Exit(1) from None
        base_url = base_url or local.api_base_url
        currency = local.environment.get("IMAGEGATE_CARD_CURRENCY", currency)
    return Api(str(base_url).rstrip("/"), api_key, Money(currency))


@batch_app.command("submit")
def batch_submit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Batch JSONL.")],
    wait: Annotated[bool, typer.Option(help="Follow it to the end with a progress bar.")] = False,
    webhook_url: Annotated[
        str | None, typer.Option(help="POSTed, signed, when the batch finishes.")
    ] = None,
) -> None:
    """Upload FILE as a new batch; print its id (and, with --wait, how it ended)."""
    api = _api(ctx)
    body = {"webhook_url": webhook_url} if webhook_url else {}
    batch = api.call("POST", "/batches", json=body).json()
    upload = upload_input(batch, file)
    if upload.is_error:
        err.print(f"[red]error:[/] the upload was refused ({upload.status_code}).")
        raise typer.Exit(1)
    typer.echo(batch["id"])
    if wait:
        _report(_follow(api, batch["id"]), api.money)


def upload_input(batch: dict[str, Any], file: Path) -> "httpx.Response":
    """POST ``file`` to the batch's presigned upload form."""
    import httpx

    with file.open("rb") as data:
        return httpx.post(
            batch["upload_url"],
            data=batch["upload_fields"],
            files={"file": (file.name, data, "application/jsonl")},
            timeout=300,
        )


@batch_app.command("status")
def batch_status(ctx: typer.Context, batch_id: BatchId, as_json: AsJson = False) -> None:
    """Where a batch is: status, counts, cost."""
    api = _api(ctx)
    batch = api.call("GET", f"/batches/{batch_id}").json()
    if as_json:
        typer.echo(json.dumps(batch, indent=2))
    else:
        _report(batch, api.money)


@batch_app.command("download")
def batch_download(
    ctx: typer.Context,
    batch_id: BatchId,
    out: Annotated[Path, typer.Option(help="Directory to write into.")] = Path("."),
) -> None:
    """Write OUT/<id>/output.jsonl and every image the batch made, named by custom_id."""
    api = _api(ctx)
    folder = out / batch_id
    (folder / "images").mkdir(parents=True, exist_ok=True)
    images = 0
    start: str | None = "0"
    with (folder / "output.jsonl").open("w") as output:
        while start is not None:  # a page at a time: each page's URLs are fresh
            page = api.call("GET", f"/batches/{batch_id}/output", params={"start": start})
            output.write(page.text)
            images += _save_images(page.text, folder / "images")
            start = page.headers.get("x-next-start")
    err.print(f"{folder}: output.jsonl and {images} image(s)")


def _save_images(page: str, folder: Path) -> int:
    import httpx

    saved = 0
    for line in map(json.loads, page.splitlines()):
        response = line.get("response") or {}
        if response.get("status_code") != 200:
            continue
        name = _file_name(line["custom_id"], line["id"])
        for number, item in enumerate(response["body"]["data"]):
            image = httpx.get(item["url"], timeout=60)
            image.raise_for_status()
            suffix = Path(item["s3_key"]).suffix
            (folder / f"{name}-{number}{suffix}").write_bytes(image.content)
            saved += 1
    return saved


def _file_name(custom_id: str, line_id: str) -> str:
    """The custom_id, if it makes a file name as it is; else made one, with the line's id
    (custom ids are unique, their cleaned-up forms need not be)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", custom_id)[:100]
    return cleaned if cleaned == custom_id else f"{cleaned}-{line_id}"


def _follow(api: Api, batch_id: str) -> dict[str, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as progress:
        task = progress.add_task(batch_id, total=None)
        while True:
            batch: dict[str, Any] = api.call("GET", f"/batches/{batch_id}").json()
            counts = batch["request_counts"]
            progress.update(
                task,
                total=counts["total"] or None,
                completed=counts["completed"] + counts["failed"],
                description=f"{batch_id} {batch['status']}",
            )
            if batch["status"] in _FINISHED:
                return batch
            time.sleep(_POLL_SECONDS)


def _report(batch: dict[str, Any], money: Money) -> None:
    """How a batch stands, in short lines: a terminal wraps them between words, never
    through its id or its cost."""
    from rich.console import Console

    counts = batch["request_counts"]
    console = Console()
    console.print(f"{batch['id']}: [bold]{batch['status']}[/]")
    console.print(
        f"{counts['completed']} succeeded, {counts['failed']} failed of {counts['total']}; "
        f"cost {money.fitting([batch['cost']])(batch['cost'])}"
    )
    for error in (batch.get("errors") or {}).get("data", []):
        console.print(f"[red]{error['message']}[/]")
