"""Operator commands run in the deployed stack (``aws lambda invoke`` of AdminFunction): create,
fund and revoke keys with nothing installed but the AWS CLI. Who may run them is who may
invoke the function: IAM decides, as it does for the tables themselves.

    {"action": "create_key", "name": "first", "balance": "10.00"}
    {"action": "top_up", "key_id": "…", "amount": 5000000}
    {"action": "revoke_key", "key_id": "…"}

Amounts are read as everywhere (``handler.core.amounts``): a string in the deployment's currency
with a decimal point ("10.00"), or an integer of micro-units (10000000); "10" is refused.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from handler.core.amounts import PositiveMicros, UnsignedMicros, format_micros
from handler.core.errors import ApiError, InvalidRequest, envelope
from handler.core.records.keys import DEFAULT_POLICY, ApiKeyRecord, KeyPolicy
from handler.core.validation import invalid_request
from handler.keys.admin import KeyAdmin
from handler.money.policy import PerMinute


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateKey(_Command):
    action: Literal["create_key"]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    balance: UnsignedMicros = 0
    rpm: PerMinute = DEFAULT_POLICY.requests_per_minute
    ipm: PerMinute = DEFAULT_POLICY.images_per_minute
    models: Annotated[list[str] | None, Field(min_length=1)] = None  # None: every model


class TopUp(_Command):
    action: Literal["top_up"]
    key_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: PositiveMicros
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


def run(event: Mapping[str, Any], admin: KeyAdmin) -> dict[str, Any]:
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
            return _create(command, admin)
        if isinstance(command, TopUp):
            moved = admin.move("topup", ACTOR, command.key_id, command.amount, command.reason)
            return _shown(moved)
        return _shown(admin.revoke(ACTOR, command.key_id))
    except ApiError as exc:
        return envelope(exc)


def _create(command: CreateKey, admin: KeyAdmin) -> dict[str, Any]:
    policy = KeyPolicy(
        requests_per_minute=command.rpm,
        images_per_minute=command.ipm,
        models=frozenset(command.models) if command.models else None,
    )
    issued = admin.create(ACTOR, command.name, policy, balance=command.balance)
    # The plaintext's only copy: it is in this answer and nowhere else.
    return {
        "key_id": issued.record.key_id,
        "name": command.name,
        "api_key": issued.plaintext,
        "balance": format_micros(command.balance),
    }


def _shown(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "name": record.name,
        "status": record.status,
        "balance": format_micros(record.funds.balance),
    }
