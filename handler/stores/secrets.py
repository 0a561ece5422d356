"""Secrets from AWS Secrets Manager, cached by Powertools Parameters."""

from aws_lambda_powertools.utilities import parameters

from handler.core.errors import StorageError

# Long enough to spare Secrets Manager a call per request, short enough to pick up a rotation.
SECRET_MAX_AGE_SECONDS = 300


def read_secret(name: str) -> str:
    try:
        value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise StorageError(f"Could not read the secret {name}.") from exc
    return str(value)
