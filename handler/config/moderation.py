"""How requests are moderated: the operator's guardrail (Amazon Bedrock Guardrails, in the
operator's account), what accounts may relax, and when an account is suspended for what it
asks for. No guardrail: nothing is moderated here (a backend may still filter)."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from handler.config.unset import Unset


class ModerationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGEGATE_", frozen=True, extra="ignore")

    moderation: Annotated[Literal["on", "off"], Field(description="off: nothing checked")] = "on"
    guardrail_id: Annotated[Unset, Field(description="the guardrail's id or ARN")] = None
    guardrail_version: Annotated[
        str, Field(pattern=r"^([1-9][0-9]{0,7}|DRAFT)$", description="its version")
    ] = "DRAFT"
    guardrail_region: Annotated[Unset, Field(description="its region (the function's)")] = None
    moderation_low_allowed: Annotated[
        bool, Field(description='a request may ask for moderation "low": the guardrail alone')
    ] = True
    moderation_outputs_optional: Annotated[
        bool, Field(description="an account's policy may turn output checks off")
    ] = False
    moderation_suspend_after: Annotated[
        int, Field(ge=0, description="blocked requests that suspend an account (0: never)")
    ] = 0

    @property
    def enabled(self) -> bool:
        return self.moderation == "on" and self.guardrail_id is not None


@cache
def get_moderation_settings() -> ModerationSettings:
    return ModerationSettings()
