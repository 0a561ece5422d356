"""What a first deploy of template.yaml is, asked as AWS will ask it: can an alarm reach its
topic through the topic's key, can a bucket other than the stack's start a batch."""

import re
from pathlib import Path
from typing import Any

import pytest

from handler.cli.template import Template
from tests.policies import ACCOUNT, REGION, STACK, STACK_UUID, Request, allows, written_out
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE.body["Resources"]
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-AlarmTopic-1A2B3C"
NAMES = {"AlarmTopic": TOPIC_ARN}


def _alarm_arn(logical_id: str) -> str:
    """The ARN CloudFormation gives an alarm it names: <stack>-<logical id>-<suffix>."""
    name = RESOURCES[logical_id]["Properties"].get("AlarmName")
    assert name is None, f"{logical_id}: a name of its own would fall outside the grants"
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-{logical_id}-9Z8Y7X6W"


def _published(alarm_arn: str, action: str, document: dict[str, Any]) -> bool:
    context = {"aws:SourceArn": alarm_arn, "aws:SourceAccount": ACCOUNT}
    return allows(document, Request("cloudwatch.amazonaws.com", action, context), NAMES)


@pytest.mark.parametrize("alarm", sorted(TEMPLATE.resources("AWS::CloudWatch::Alarm")))
def test_every_alarm_can_publish_to_the_stacks_topic(alarm: str) -> None:
    topic = RESOURCES["AlarmTopic"]["Properties"]
    # Not SNS's AWS-managed key, whose policy cannot let CloudWatch in
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    topic_policy = RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]
    assert RESOURCES["AlarmTopicPolicy"]["Properties"]["Topics"] == [{"Ref": "AlarmTopic"}]
    arn = _alarm_arn(alarm)
    # What SNS asks KMS on CloudWatch's behalf, and what CloudWatch asks SNS
    assert _published(arn, "kms:GenerateDataKey", key_policy)
    assert _published(arn, "kms:Decrypt", key_policy)
    assert _published(arn, "sns:Publish", {**topic_policy, "Statement": _secure(topic_policy)})


def _secure(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements as a TLS request meets them (the topic denies plain HTTP)."""
    return [s for s in document["Statement"] if "aws:SecureTransport" not in str(s)]


def test_another_stacks_or_accounts_alarms_cannot_use_the_key() -> None:
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    elsewhere = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:other-stack-Alarm-1"
    assert not _published(elsewhere, "kms:Decrypt", key_policy)
    assert RESOURCES["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] is True


def _s3_delivery(bucket: str) -> bool:
    policy = RESOURCES["BatchInputQueuePolicy"]["Properties"]["PolicyDocument"]
    context = {"aws:SourceArn": f"arn:aws:s3:::{bucket}", "aws:SourceAccount": ACCOUNT}
    return allows(policy, Request("s3.amazonaws.com", "sqs:SendMessage", context), {})


def test_only_the_stacks_own_bucket_can_start_a_batch() -> None:
    bucket = written_out(RESOURCES["ImagesBucket"]["Properties"]["BucketName"])
    assert bucket == f"imagegate-{STACK_UUID}"
    assert len(bucket) <= 63
    assert bucket == bucket.lower()
    assert _s3_delivery(bucket)
    assert not _s3_delivery("another-bucket-of-the-account")
    assert not _s3_delivery(f"{bucket}-copy")


def test_the_cost_budget_can_publish_to_the_topic() -> None:
    budget = RESOURCES["CostBudget"]
    assert budget["Condition"] == "HasCostBudget"
    assert int(TEMPLATE.body["Parameters"]["MonthlyCostBudget"]["Default"]) > 0  # on
    for notification in budget["Properties"]["NotificationsWithSubscribers"]:
        [subscriber] = notification["Subscribers"]
        assert subscriber["Address"]["Fn::If"][1] == {"Ref": "AlarmTopic"}
    arn = f"arn:aws:budgets::{ACCOUNT}:budget/{STACK}-monthly-cost"
    context = {"aws:SourceArn": arn, "aws:SourceAccount": ACCOUNT}
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    topic_policy = RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]
    for action, document in (
        ("kms:GenerateDataKey", key_policy),
        ("kms:Decrypt", key_policy),
        ("sns:Publish", {**topic_policy, "Statement": _secure(topic_policy)}),
    ):
        assert allows(document, Request("budgets.amazonaws.com", action, context), NAMES)


def _query(alarm: str) -> str:
    [metric] = RESOURCES[alarm]["Properties"]["Metrics"]
    return str(written_out(metric["Expression"], {t: f"{STACK}-{t}-X1" for t in _tables()}))


def _tables() -> list[str]:
    return sorted(TEMPLATE.resources("AWS::DynamoDB::Table"))


@pytest.mark.parametrize("alarm", ["DynamoDbThrottlesAlarm", "DynamoDbErrorsAlarm"])
def test_the_dynamodb_alarms_watch_every_table(alarm: str) -> None:
    query = _query(alarm)
    assert query.startswith("SELECT SUM(")
    for table in _tables():
        assert f"TableName = '{STACK}-{table}-X1'" in query, table


def _metric_math(expression: str, **values: float) -> float:
    """A CloudWatch metric-math expression of the template (IF, AND, OR, FILL, arithmetic),
    evaluated on the given data points."""
    python = expression.replace("IF(", "_if(").replace(" AND ", " and ").replace(" OR ", " or ")
    python = re.sub(r"FILL\((\w+), 0\)", r"\1", python)
    helpers = {"_if": lambda condition, then, otherwise: then if condition else otherwise}
    # The template's own text, translated: no input from outside reaches it.
    return float(eval(python, {"__builtins__": {}}, {**helpers, **values}))  # noqa: S307


def test_the_work_queue_alarm_fires_on_a_stuck_queue_not_a_long_one() -> None:
    alarm = RESOURCES["WorkQueueAgeAlarm"]["Properties"]
    [expression] = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    formula = written_out(expression, {"WorkQueueAgeSeconds": "1800"})

    def fires(age: float, taken: float) -> bool:
        return _metric_math(formula, age=age, taken=taken) > float(alarm["Threshold"])

    assert fires(age=2000, taken=0)  # nothing taken in 5 minutes: stuck
    assert not fires(age=7200, taken=40)  # a large batch, draining
    assert not fires(age=60, taken=0)  # a fresh line


def test_an_outage_at_low_traffic_raises_the_5xx_alarm() -> None:
    alarm = RESOURCES["ApiServerErrorsAlarm"]["Properties"]
    expression = alarm["Metrics"][0]["Expression"]
    threshold = float(TEMPLATE.body["Parameters"]["Api5xxPercent"]["Default"])

    def fires(errors: int, requests: int) -> bool:
        return _metric_math(expression, errors=errors, requests=requests) > threshold

    assert fires(errors=4, requests=4)  # every request failing, few of them
    assert not fires(errors=1, requests=10)  # one failure among few
    assert fires(errors=10, requests=100)
    assert not fires(errors=1, requests=100)


def test_the_alarms_select_their_own_stacks_metrics() -> None:
    # The functions name their service after the stack; every alarm on imagegate's metrics
    # selects that service, so two stacks of one account never fire on each other's.
    environment = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    own = 0
    for name, alarm in TEMPLATE.resources("AWS::CloudWatch::Alarm").items():
        stats = [alarm] + [
            q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q
        ]
        for metric in stats:
            if metric.get("Namespace") == "imagegate":
                own += 1
                assert {"Name": "service", "Value": {"Ref": "AWS::StackName"}} in metric[
                    "Dimensions"
                ], name
    assert own >= 5
    dashboard = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert re.search(r'"service",\s*"\$\{AWS::StackName\}"', dashboard)
    assert not re.search(r'"service",\s*"imagegate"', dashboard)
    assert dashboard.count('service=\\"${AWS::StackName}\\"') == 2  # the SEARCH widgets


def test_make_deploy_asks_nothing_and_prunes_after() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["deploy"]
    # No prompt whose Enter aborts: the change set is not confirmed, --guided never used
    assert config["parameters"]["confirm_changeset"] is False
    assert config["parameters"]["resolve_s3"] is True
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ndeploy:") :].split("\n\n")[0]
    assert "--guided" not in recipe
    assert "$(SAM) deploy --stack-name $(STACK)" in recipe
    assert "$(BIN)/imagegate preflight" in recipe.split("$(SAM) deploy")[0]  # before it
    assert "$(BIN)/imagegate prune-versions --stack $(STACK)" in recipe.split("$(SAM) deploy")[1]


def test_the_commands_around_sam_deploy_read_its_settings(tmp_path: Path) -> None:
    from handler.cli.samconfig import SamConfig

    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "a"\nregion = "eu-west-1"\n'
        '[default.deploy.parameters]\nregion = "us-west-2"\nparameter_overrides = "A=1 B=2"\n'
    )
    settings = SamConfig.load(config)
    assert (settings.region, settings.stack_name) == ("us-west-2", "a")  # the deploy's first
    # What make deploy is given besides, as sam deploy will take it
    assert settings.given("B=3 C='x y'").overrides == {"A": "1", "B": "3", "C": "x y"}
    assert SamConfig.load(tmp_path / "missing.toml").region is None


def test_the_readmes_alarm_count_is_the_templates() -> None:
    alarms = TEMPLATE.resources("AWS::CloudWatch::Alarm")
    metrics = sum(
        1 if "MetricName" in alarm else max(1, sum("MetricStat" in q for q in alarm["Metrics"]))
        for alarm in alarms.values()
    )
    readme = (ROOT / "README.md").read_text()
    assert f"| {len(alarms)} alarms watching {metrics} metrics" in readme
