"""Whether each SageMaker endpoint the catalog names is there and serving, and within the
names the functions may invoke."""

from handler.aws.errors import Refused, aws_errors
from handler.backends.sagemaker.endpoints import SERVING
from handler.backends.sagemaker.params import SageMakerParams
from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, fail, ok, unchecked, warn
from handler.core.catalog import Catalog
from handler.core.errors import StorageError

PREFIX = "SageMakerEndpointPrefix"
_DEPLOY = "deploy it (README, SageMaker endpoints), or ship a catalog without {models}"


def sagemaker(deployment: Deployment, catalog: Catalog, account: Account) -> list[Finding]:
    served: dict[str, list[str]] = {}
    for placed in catalog.placed("sagemaker"):
        endpoint = SageMakerParams.model_validate(placed.backend_params).endpoint_name
        served.setdefault(endpoint, []).append(placed.where)
    prefix = deployment.parameters[PREFIX]
    return [
        _endpoint(name, ", ".join(models), prefix, account) for name, models in served.items()
    ] or [ok("sagemaker", "no endpoint in the catalog")]


def _endpoint(name: str, models: str, prefix: str, account: Account) -> Finding:
    check = f"sagemaker {name}"
    if not name.startswith(prefix):
        return fail(
            check,
            f"the functions may invoke only endpoints named {prefix}*",
            f"set {PREFIX} to a prefix of {name}, or rename the endpoint",
        )
    try:
        with aws_errors(f"could not describe {name}", expected={"ValidationException"}):
            endpoint = account.client("sagemaker").describe_endpoint(EndpointName=name)
    except Refused:
        # The stack serves the rest meanwhile: the model is listed once its endpoint serves.
        return warn(
            check,
            f"no endpoint of that name in {account.region}: {models} is not served until "
            "there is one",
            _DEPLOY.format(models=models),
        )
    except StorageError as exc:
        return unchecked(check, exc)
    status = endpoint["EndpointStatus"]
    if status in SERVING:
        return ok(check, f"{status}, serves {models}")
    if status == "Creating":
        return warn(check, f"Creating: {models} served once it is InService")
    reason = endpoint.get("FailureReason")
    return fail(
        check,
        f"{status}{f' ({reason})' if reason else ''}: {models} cannot be served",
        _DEPLOY.format(models=models),
    )
