"""Operator commands run in the deployed stack (``aws lambda invoke`` of AdminFunction): create,
fund and revoke keys with nothing installed but the AWS CLI. Who may run them is who may
invoke the function: IAM decides, as it does for the tables themselves.

    {"action": "create_key", "name": "first", "balance": "10.00"}
    {"action": "top_up", "key_id": "…", "amount": "5"}
    {"action": "revoke_key", "key_id": "…"}
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from handler.core.auth import issue_key
from handler.core.catalog import Catalog
from handler.core.errors import ImagegateError, InvalidRequest, envelope
from handler.core.ledger import Entries, top_up
from handler.core.money import format_micros, parse_amount
from handler.core.policy import DEFAULT_POLICY
from handler.core.ports import ApiKeyRecord, KeyPolicy, KeyStore
from handler.core.validation import invalid_request


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateKey(_Command):
    action: Literal["create_key"]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    balance: str = "0"  # currency units, e.g. "10.00"
    rpm: Annotated[int, Field(ge=1)] = DEFAULT_POLICY.requests_per_minute
    ipm: Annotated[int, Field(ge=1)] = DEFAULT_POLICY.images_per_minute
    models: Annotated[list[str] | None, Field(min_length=1)] = None  # None: every model


class TopUp(_Command):
    action: Literal["top_up"]
    key_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: str
    reason: str | None = None


class RevokeKey(_Command):
    action: Literal["revoke_key"]
    key_id: Annotated[str, Field(min_length=1, max_length=64)]


Command = Annotated[CreateKey | TopUp | RevokeKey, Field(discriminator="action")]
_COMMAND: TypeAdapter[CreateKey | TopUp | RevokeKey] = TypeAdapter(Command)
ACTIONS = ("create_key", "top_up", "revoke_key")
# What pydantic says of an event that names no command at all.
_NOT_A_COMMAND = frozenset({"union_tag_invalid", "union_tag_not_found", "model_attributes_type"})


# Lambda does not tell a function who invoked it; CloudTrail's Invoke records do.
ACTOR = "admin function (caller in CloudTrail)"


def run(
    event: Mapping[str, Any],
    keys: KeyStore,
    entries: Entries,
    catalog: Catalog,
    now: Callable[[], float],
) -> dict[str, Any]:
    """The command's result, or ``{"error": …}`` (OpenAI's envelope) for one that cannot run."""
    try:
        try:
            command = _COMMAND.validate_python(event)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if errors[0]["type"] in _NOT_A_COMMAND:
                raise InvalidRequest(
                    f"action must be one of: {', '.join(ACTIONS)}.", param="action"
                ) from None
            # The command's own fields, without the action that chose the command.
            raise invalid_request(
                [{**error, "loc": error["loc"][1:]} for error in errors]
            ) from None
        if isinstance(command, CreateKey):
            return _create(command, keys, catalog, int(now()))
        if isinstance(command, TopUp):
            entry = top_up(
                command.key_id,
                command.amount,
                command.reason,
                actor=ACTOR,
                source="admin",
                at=int(now() * 1000),
            )
            return _shown(entries.post(entry))
        return _shown(keys.revoke(command.key_id, at=int(now())))
    except ImagegateError as exc:
        return envelope(exc)


def _create(command: CreateKey, keys: KeyStore, catalog: Catalog, now: int) -> dict[str, Any]:
    offered = {model.id for model in catalog.models}
    unknown = sorted(set(command.models or ()) - offered)
    if unknown:
        raise InvalidRequest(f"Not in the catalog: {', '.join(unknown)}.", param="models")
    policy = KeyPolicy(
        requests_per_minute=command.rpm,
        images_per_minute=command.ipm,
        models=frozenset(command.models) if command.models else None,
    )
    balance = _amount(command.balance, "balance")
    new = issue_key(
        keys, command.name, policy, balance=balance, now=now, actor=ACTOR, source="admin"
    )
    # The plaintext's only copy: it is in this answer and nowhere else.
    return {
        "key_id": new.key_id,
        "name": command.name,
        "api_key": new.plaintext,
        "balance": format_micros(balance),
    }


def _shown(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "name": record.name,
        "status": record.status,
        "balance": format_micros(record.balance),
    }


def _amount(text: str, param: str) -> int:
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise InvalidRequest(str(exc), param=param) from None
