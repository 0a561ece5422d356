"""Settings a deployment may leave unset. CloudFormation cannot leave a variable out, only
empty: empty means not configured."""

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

EMPTY_IS_UNSET = BeforeValidator(lambda value: None if value == "" else value)
Unset = Annotated[str | None, EMPTY_IS_UNSET]
UnsetSecret = Annotated[SecretStr | None, EMPTY_IS_UNSET]
