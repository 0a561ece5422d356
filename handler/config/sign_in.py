"""Members' sign-in settings, apart from ``Settings`` (which every request reads), for the
routes that sign in."""

from functools import cache
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from handler.config.unset import Unset
from handler.core.amounts import parse_amount


class SignInSettings(BaseSettings):
    """Members' sign-in to the console (the template's user pool) and who may open an
    account; apart from ``Settings``, which every request reads, for the routes that sign in."""

    model_config = SettingsConfigDict(env_prefix="IMAGEGATE_", frozen=True, extra="ignore")

    user_pool_id: Annotated[
        Unset, Field(pattern=r"^[\w-]+_[0-9a-zA-Z]+$", description="members' Cognito pool")
    ] = None
    user_pool_client_id: Annotated[Unset, Field(description="the console's app client")] = None
    user_pool_jwks_url: Annotated[Unset, Field(description="its keys, if not its issuer's")] = None
    identity_pool_id: Annotated[Unset, Field(description="operators' console credentials")] = None
    sign_up: Annotated[
        Literal["invitation", "approval", "open"], Field(description="who may open an account")
    ] = "invitation"
    sign_up_starting_credit: Annotated[
        int,
        BeforeValidator(lambda value: parse_amount(value) if isinstance(value, str) else value),
        Field(ge=0, description="an account opened by sign-up starts with (micro-units)"),
    ] = 0


@cache
def get_sign_in_settings() -> SignInSettings:
    return SignInSettings()
