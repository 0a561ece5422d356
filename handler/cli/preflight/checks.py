"""Every check, in the order the report lists them."""

from handler.cli.preflight.account import Account
from handler.cli.preflight.bedrock import bedrock
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding
from handler.cli.preflight.lambda_checks import concurrency, snapstart
from handler.cli.preflight.provenance import provenance
from handler.cli.preflight.sagemaker import sagemaker
from handler.cli.preflight.secrets import secrets
from handler.core.catalog import Catalog


def run(deployment: Deployment, catalog: Catalog, account: Account) -> list[Finding]:
    return [
        concurrency(deployment, account),
        snapstart(deployment, account),
        *bedrock(deployment, catalog, account),
        *sagemaker(deployment, catalog, account),
        *secrets(deployment, account),
        provenance(deployment, account),
    ]
