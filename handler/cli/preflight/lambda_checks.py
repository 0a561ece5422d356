"""What Lambda must allow before CloudFormation can make the functions: the concurrency they
reserve, and SnapStart in the region."""

from handler.aws.errors import Refused, aws_errors
from handler.cli.preflight.account import Account
from handler.cli.preflight.deployment import Deployment
from handler.cli.preflight.findings import Finding, fail, ok, unchecked
from handler.core.errors import StorageError

# Lambda refuses a reservation that leaves fewer than this many of the account's concurrent
# executions to the functions that reserve none.
UNRESERVED_MINIMUM = 100
# "Lambda SnapStart is available in all commercial Regions except Asia Pacific (New Zealand)
# and Asia Pacific (Taipei)": https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html
# (Supported Regions), as read in 2026. It may be stale: AWS adds Regions.
SNAPSTART_ABSENT = frozenset({"ap-southeast-6", "ap-east-2"})
_QUOTA = "ask for a higher limit (Service Quotas: AWS Lambda, Concurrent executions)"


def concurrency(deployment: Deployment, account: Account) -> Finding:
    """The stack's reservations against what the account can still reserve (its own current
    reservations count as free: a deploy replaces them)."""
    check = "lambda concurrency"
    try:
        with aws_errors(f"could not read Lambda's account settings in {account.region}"):
            limits = account.client("lambda").get_account_settings()["AccountLimit"]
        ours = _reserved_now(deployment, account)
    except StorageError as exc:
        return unchecked(check, exc)
    room = limits["UnreservedConcurrentExecutions"] + ours - UNRESERVED_MINIMUM
    if _fits(deployment, room):
        wanted = _reserved(deployment)
        return ok(check, f"{wanted} reserved, {max(room, 0)} free to reserve in {account.region}")
    found = (
        f"the functions reserve {_reserved(deployment)}; the account's limit is "
        f"{limits['ConcurrentExecutions']} and Lambda keeps {UNRESERVED_MINIMUM} unreserved, "
        f"so {max(room, 0)} can be reserved"
    )
    fixes = [_fitting(deployment, name, room) for name in _tuning(deployment)]
    return fail(check, found, "; or ".join([*fixes, _QUOTA]))


def snapstart(deployment: Deployment, account: Account) -> Finding:
    check = "snapstart"
    using = {
        function: names
        for function, (setting, names) in deployment.function_values("SnapStart").items()
        if setting.get("ApplyOn") == "PublishedVersions"
    }
    if not using:
        return ok(check, "off")
    if account.commercial() and account.region not in SNAPSTART_ABSENT:
        return ok(check, f"offered in {account.region} ({', '.join(using)})")
    parameters = sorted(set().union(*using.values()))
    fix = " or ".join(f"{name}=None" for name in parameters) or "deploy to another region"
    return fail(
        check,
        f"{', '.join(using)} use SnapStart, which AWS's list (may be stale) does not offer in "
        f"{account.region}",
        fix,
    )


def _fits(deployment: Deployment, room: int) -> bool:
    reserved = _reserved(deployment)
    return reserved == 0 or reserved <= room


def _reserved(deployment: Deployment) -> int:
    reservations = deployment.function_values("ReservedConcurrentExecutions").values()
    return sum(int(value) for value, _ in reservations)


def _tuning(deployment: Deployment) -> list[str]:
    """The parameters the reservations are set from."""
    reservations = deployment.function_values("ReservedConcurrentExecutions").values()
    return sorted(set().union(*(names for _, names in reservations)))


def _fitting(deployment: Deployment, name: str, room: int) -> str:
    """How to set ``name`` so the reservations fit: its largest value that does, found by
    trying (the others stay as given), else 0 if that does."""
    low, high = 1, int(deployment.parameters[name])
    if not _fits(deployment.given(**{name: str(low)}), room):
        if _fits(deployment.given(**{name: "0"}), room):
            return f"set {name}=0 (it then reserves none; samconfig.toml, parameter_overrides)"
        return f"lower {name}"
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(deployment.given(**{name: str(middle)}), room):
            low = middle
        else:
            high = middle - 1
    return f"set {name}={low} or less (samconfig.toml, parameter_overrides)"


def _reserved_now(deployment: Deployment, account: Account) -> int:
    """What the stack's functions reserve today (none if it is not deployed yet)."""
    if deployment.stack_name is None:
        return 0
    cloudformation, functions = account.client("cloudformation"), account.client("lambda")
    pages = cloudformation.get_paginator("list_stack_resources")
    total = 0
    try:
        with aws_errors("could not list the stack's functions", expected={"ValidationError"}):
            for page in pages.paginate(StackName=deployment.stack_name):
                for resource in page["StackResourceSummaries"]:
                    if resource["ResourceType"] == "AWS::Lambda::Function":
                        name = resource["PhysicalResourceId"]
                        answer = functions.get_function_concurrency(FunctionName=name)
                        total += answer.get("ReservedConcurrentExecutions", 0)
    except Refused:  # no such stack
        return 0
    return total
