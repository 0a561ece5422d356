"""The admin API is IAM's alone and a function of its own: its route takes only SigV4-signed
calls and reaches only the admin function, API Gateway invokes it itself (not with the
caller's credentials), the policy operators get reaches the admin routes and nothing else,
and the public functions' role cannot make or list keys."""

from collections.abc import Mapping, Sequence

from handler.cli.gateway import RestApi
from handler.cli.template import Template
from tests.support import ROOT, function_statements

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES = TEMPLATE.body["Resources"]


def test_only_the_admin_routes_take_iam_and_only_iam() -> None:
    routes = {route.resource: route for route in RestApi.from_template(TEMPLATE).routes}
    assert routes["/admin/{proxy+}"].authorization == "AWS_IAM"
    assert {routes["/"].authorization, routes["/{proxy+}"].authorization} == {"NONE"}
    events = RESOURCES["AdminApiFunction"]["Properties"]["Events"]
    assert events["Admin"]["Properties"]["Auth"] == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}


def test_the_admin_routes_reach_the_admin_function_only() -> None:
    routes = RestApi.from_template(TEMPLATE).routes
    admin = {route.function for route in routes if route.resource.startswith("/admin")}
    assert admin == {"AdminApiFunction"}
    assert all(route.authorization == "AWS_IAM" for route in routes if route.function in admin)
    # And the admin app serves the admin routes, the public one none of them
    from handler.admin_app import create_admin_app
    from handler.app import create_app

    assert all(path.startswith("/admin/v1/") for path in create_admin_app().openapi()["paths"])
    assert not [path for path in create_app().openapi()["paths"] if path.startswith("/admin")]


def _key_actions(function: str) -> set[str]:
    actions: set[str] = set()
    for statement in function_statements(RESOURCES, function):
        if statement["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}:
            named = statement["Action"]
            actions |= {named} if isinstance(named, str) else set(named)
    return actions


def test_only_the_admin_function_may_make_or_list_keys() -> None:
    assert {"dynamodb:PutItem", "dynamodb:Scan"} <= _key_actions("AdminApiFunction")
    # The public functions (StreamFunction runs with ApiFunction's role) charge and settle,
    # and check an account's item when one of its keys submits work
    for public in ("ApiFunction", "StreamFunction"):
        assert _key_actions(public) == {
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
        }, public


_ACTIONS = {"Update": "UpdateItem", "ConditionCheck": "ConditionCheckItem", "Put": "PutItem"}


def _granted(function: str, writes: Sequence[Mapping[str, object]]) -> set[str]:
    """The actions ``writes`` (a transaction's) need on the keys table that ``function``'s
    role does not grant."""
    needed = {f"dynamodb:{_ACTIONS[kind]}" for write in writes for kind in write}
    return needed - _key_actions(function)


def test_the_roles_grant_every_write_a_key_of_an_account_makes() -> None:
    """A key apart from its account reserves and is admitted in a transaction whose parts IAM
    authorizes one by one: a ConditionCheck needs ConditionCheckItem, as a key made in an
    account does (its account's standing is checked)."""
    from handler.core.records.charges import Admission, Charge
    from handler.core.records.keys import Credentials
    from handler.money.stored.key_writes import admitting, reserving

    key = Credentials("0123456789abcdef-01234567", "hash")
    charge = Charge("req_1", "imagegate-preview", "1024x1024", 1, 4000, 1_800_000_000_000)
    for writes in (
        reserving("keys", key, charge, minute=1),
        admitting("keys", key, Admission(4000), minute=1, now=1),
    ):
        assert len(writes) == 2  # the key's and the account's
        assert _granted("ApiFunction", writes) == set()
    made: list[dict[str, object]] = [
        {"Put": {}},
        {"ConditionCheck": {}},
    ]  # money/stored/keys.py, a key of an account
    for function in ("MemberApiFunction", "AdminApiFunction"):
        assert _granted(function, made) == set(), function


def test_the_operators_policy_invokes_the_admin_routes_only() -> None:
    policy = RESOURCES["AdminApiPolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"]["Fn::Sub"].endswith(":${Api}/${StageName}/*/admin/*")
