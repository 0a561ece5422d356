"""Secrets from AWS Secrets Manager, cached by Powertools Parameters."""

from collections.abc import Callable

from aws_lambda_powertools.utilities import parameters
from pydantic import SecretStr

from handler.core.errors import StorageError

# Long enough to spare Secrets Manager a call per request, short enough to pick up a rotation.
SECRET_MAX_AGE_SECONDS = 300


def configured_secret(value: SecretStr | None, name: str | None, missing: Exception) -> str:
    """A secret the settings give directly (local runs) or by its Secrets Manager name
    (deployed); ``missing`` is raised when they give neither."""
    if value is not None:
        return value.get_secret_value()
    if name:
        return read_secret(name)
    raise missing


def secret_reader(value: SecretStr | None, name: str | None, what: str) -> Callable[[], str]:
    """Reads the secret ``configured_secret`` gives, each time it is needed (Parameters
    caches it); a deployment configured with neither fails saying which is missing."""
    missing = StorageError(f"This deployment has no {what} configured.", should_retry=False)
    return lambda: configured_secret(value, name, missing)


def read_secret(name: str) -> str:
    try:
        value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise StorageError(f"Could not read the secret {name}.") from exc
    return str(value)
