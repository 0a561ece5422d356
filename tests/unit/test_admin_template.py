"""The admin API is IAM's alone: its route takes only SigV4-signed calls, API Gateway invokes
the function itself (not with the caller's credentials), and the policy operators get reaches
the admin routes and nothing else."""

from handler.cli.gateway import RestApi
from handler.cli.template import Template
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")


def test_only_the_admin_routes_take_iam_and_only_iam() -> None:
    routes = {route.resource: route for route in RestApi.from_template(TEMPLATE).routes}
    assert routes["/admin/{proxy+}"].authorization == "AWS_IAM"
    assert {routes["/"].authorization, routes["/{proxy+}"].authorization} == {"NONE"}
    events = TEMPLATE.body["Resources"]["ApiFunction"]["Properties"]["Events"]
    assert events["Admin"]["Properties"]["Auth"] == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}


def test_the_operators_policy_invokes_the_admin_routes_only() -> None:
    policy = TEMPLATE.body["Resources"]["AdminApiPolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"]["Fn::Sub"].endswith(":${Api}/${StageName}/*/admin/*")
