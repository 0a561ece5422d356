"""What template.yaml gives a team running imagegate in production: alarms that reach someone,
a dashboard, access logs, isolated concurrency, queue permissions scoped to each function's own
queue, data that cannot be deleted by accident, and optional edge protection."""

import json
import re
from typing import Any

import pytest

from handler.cli.template import Template
from tests.support import ROOT, function_statements, policy_statements

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE.body["Resources"]
QUEUE_FED = {
    "SplitterFunction": "BatchInputQueue",
    "WorkerFunction": "WorkQueue",
    "DeadLetterFunction": "WorkDeadLetterQueue",
    "WebhookFunction": "WebhookQueue",
}
FUNCTIONS = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]
TOPIC = [{"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return TEMPLATE.resources(kind)


def _metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) of everything an alarm watches."""
    if "MetricName" in alarm:
        return {(alarm["Namespace"], alarm["MetricName"])}
    return {
        (query["MetricStat"]["Metric"]["Namespace"], query["MetricStat"]["Metric"]["MetricName"])
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }


def test_every_alarm_notifies_the_topic_and_the_topic_can_mail_someone() -> None:
    alarms = _of("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 15
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == TOPIC, name
        assert alarm["OKActions"] == TOPIC, name
        assert alarm["TreatMissingData"] == "notBreaching", name
    assert RESOURCES["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


@pytest.mark.parametrize(
    ("alarm", "watched"),
    [
        ("ApiServerErrorsAlarm", {("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Count")}),
        ("ApiClientErrorsAlarm", {("AWS/ApiGateway", "4XXError"), ("AWS/ApiGateway", "Count")}),
        ("ApiLatencyAlarm", {("AWS/ApiGateway", "Latency")}),
        ("ApiIntegrationLatencyAlarm", {("AWS/ApiGateway", "IntegrationLatency")}),
        ("FunctionErrorsAlarm", {("AWS/Lambda", "Errors")}),
        ("FunctionThrottlesAlarm", {("AWS/Lambda", "Throttles")}),
        ("FunctionDurationAlarm", {("AWS/Lambda", "Duration")}),
        (
            "WorkQueueAgeAlarm",
            {("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/SQS", "NumberOfMessagesDeleted")},
        ),
        ("DeadLettersAlarm", {("imagegate", "LinesDeadLettered")}),
        ("WorkDeadLetterBacklogAlarm", {("AWS/SQS", "ApproximateAgeOfOldestMessage")}),
        ("BatchInputDeadLetterAlarm", {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}),
        ("WebhookDeadLetterAlarm", {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}),
        ("ReconcileFailedAlarm", {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}),
        ("ReconcileErrorsAlarm", {("imagegate", "ReconciliationsFailed")}),
        ("ReservationsReconciledAlarm", {("imagegate", "ReservationsReconciled")}),
        ("NegativeMarginAlarm", {("imagegate", "NegativeMargin")}),
        ("SpendAnomalyAlarm", {("imagegate", "Spend")}),
    ],
)
def test_each_alarm_watches_what_its_name_says(alarm: str, watched: set[tuple[str, str]]) -> None:
    assert _metrics(_of("AWS::CloudWatch::Alarm")[alarm]) == watched


def test_the_function_alarms_cover_every_function() -> None:
    alarms = _of("AWS::CloudWatch::Alarm")
    for name in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm", "FunctionDurationAlarm"):
        watched = {
            query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
            for query in alarms[name]["Metrics"]
            if "MetricStat" in query
        }
        assert watched == set(FUNCTIONS), name
    # Duration is compared with each function's own timeout
    expression = alarms["FunctionDurationAlarm"]["Metrics"][0]["Expression"]["Fn::Sub"]
    assert "${ApiFunctionTimeout}" in expression
    assert "${WorkerFunctionTimeout}" in expression


def test_dead_letters_are_counted_as_they_arrive_not_sampled() -> None:
    # The dead-letter function drains its queue within seconds: a depth alarm would miss it.
    from handler.main import dead_letter

    source = (ROOT / "handler" / "main" / "dead_letter.py").read_text()
    assert 'name="LinesDeadLettered"' in source
    assert dead_letter.lambda_handler is not None
    alarm = _of("AWS::CloudWatch::Alarm")["DeadLettersAlarm"]
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


def test_spend_has_an_anomaly_band() -> None:
    alarm = _of("AWS::CloudWatch::Alarm")["SpendAnomalyAlarm"]
    band = next(query for query in alarm["Metrics"] if query["Id"] == alarm["ThresholdMetricId"])
    assert band["Expression"].startswith("ANOMALY_DETECTION_BAND(spend")
    assert alarm["ComparisonOperator"] == "GreaterThanUpperThreshold"
    detector = _of("AWS::CloudWatch::AnomalyDetector")["SpendAnomalyDetector"]
    assert detector["SingleMetricAnomalyDetector"]["MetricName"] == "Spend"


def _dashboard() -> dict[str, Any]:
    body = _of("AWS::CloudWatch::Dashboard")["Dashboard"]["DashboardBody"]["Fn::Sub"]
    # As CloudFormation substitutes it: every ${...} a name (in JSON strings already).
    dashboard: dict[str, Any] = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    return dashboard


def test_the_dashboard_shows_the_service() -> None:
    widgets = {widget["properties"]["title"]: widget for widget in _dashboard()["widgets"]}
    text = json.dumps(widgets)
    for metric in (
        "Count",
        "5XXError",
        "Latency",
        "IntegrationLatency",
        "ApproximateAgeOfOldestMessage",
        "LinesRun",
        "ReservationsReconciled",
    ):
        assert f'"{metric}"' in text, metric
    # images and spend, split by model
    assert 'MetricName=\\"Images\\"' in text
    assert 'MetricName=\\"Spend\\"' in text
    assert any("by model" in title for title in widgets)


def test_the_api_writes_json_access_logs() -> None:
    api = _of("AWS::Serverless::Api")["Api"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = json.loads(setting["Format"])
    assert line["requestId"] == "$context.requestId"  # the answer's x-request-id
    assert {"sourceIp", "status", "latencyMs", "path", "method"} <= set(line)
    assert RESOURCES["ApiAccessLogGroup"]["DeletionPolicy"] == "Retain"
    # the account's CloudWatch role is in place before the stage logs
    assert RESOURCES["Api"]["DependsOn"] == "ApiGatewayLogsReady"


def test_the_api_is_reserved_and_refunds_always_have_room() -> None:
    reserved = {
        name: TEMPLATE.function_property(name, "ReservedConcurrentExecutions") for name in FUNCTIONS
    }
    assert reserved["ApiFunction"] == {
        "Fn::If": ["ReserveConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    # Nothing reserved by default: a new account's limit may leave no room for any
    assert TEMPLATE.body["Parameters"]["ApiReservedConcurrency"]["Default"] == 0
    assert reserved["ReconcileFunction"]["Fn::If"][1] == 1
    assert reserved["DeadLetterFunction"]["Fn::If"][1] == 2
    # The queue-fed functions are capped by their event source, never by reservation
    # (a throttled receive counts towards dead-lettering), save the dead-letter function,
    # whose cap fits inside its reservation.
    for function in QUEUE_FED:
        [event] = RESOURCES[function]["Properties"]["Events"].values()
        cap = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        if function == "DeadLetterFunction":
            assert cap <= reserved[function]["Fn::If"][1]
        else:
            assert reserved[function] is None
    worker = RESOURCES["WorkerFunction"]["Properties"]["Events"]["Work"]["Properties"]
    assert worker["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WorkerMaximumConcurrency"}


@pytest.mark.parametrize(("function", "queue"), QUEUE_FED.items())
def test_a_queue_function_reads_only_its_own_queue(function: str, queue: str) -> None:
    properties = RESOURCES[function]["Properties"]
    assert "Policies" not in properties  # SAM would add AWSLambdaSQSQueueExecutionRole
    role = RESOURCES[properties["Role"]["Fn::GetAtt"][0]]["Properties"]
    assert not [arn for arn in json.dumps(role["ManagedPolicyArns"]).split() if "SQS" in arn]
    statements = function_statements(RESOURCES, function)
    reading = [
        statement
        for statement in statements
        if {"sqs:ReceiveMessage", "sqs:DeleteMessage"} & set(_actions(statement))
    ]
    assert [statement["Resource"] for statement in reading] == [{"Fn::GetAtt": [queue, "Arn"]}]
    assert not [
        statement
        for statement in statements
        if "*" in json.dumps(statement["Resource"]) and "sqs:" in json.dumps(statement["Action"])
    ]
    [event] = properties["Events"].values()
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}


def test_events_are_put_under_imagegates_source_only() -> None:
    from handler.stores.notifier import EVENT_SOURCE

    text = json.dumps(RESOURCES)
    count = text.count('"events:PutEvents"')
    assert count >= 4
    found = 0
    for resource in RESOURCES.values():
        for statement in _all_statements(resource):
            if "events:PutEvents" in _actions(statement):
                assert statement["Condition"] == {"StringEquals": {"events:source": EVENT_SOURCE}}
                found += 1
    assert found == count


def test_balances_the_ledger_and_the_signing_secret_survive_deletes() -> None:
    for table in ("KeysTable", "UsageTable"):
        assert RESOURCES[table]["DeletionPolicy"] == "Retain"
        assert RESOURCES[table]["UpdateReplacePolicy"] == "Retain"
        assert RESOURCES[table]["Properties"]["DeletionProtectionEnabled"] is True
    secret = RESOURCES["WebhookSigningSecret"]
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_no_work_expires_before_its_dead_letter_queue_sees_it() -> None:
    queues = _of("AWS::SQS::Queue")
    for name, queue in queues.items():
        redrive = queue.get("RedrivePolicy")
        if redrive is None:
            continue
        dead = queues[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        kept = queue.get("MessageRetentionPeriod", 345600)  # SQS's default: four days
        assert kept < dead["MessageRetentionPeriod"], name
        assert redrive["maxReceiveCount"] >= 5, name  # room for throttled receives


def test_a_failed_reconciler_run_is_kept_and_alarmed() -> None:
    reconciler = RESOURCES["ReconcileFunction"]["Properties"]
    destination = reconciler["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    failures = {"Fn::GetAtt": ["ReconcileFailureQueue", "Arn"]}
    assert destination == {"Type": "SQS", "Destination": failures}
    schedule = reconciler["Events"]["Every5Minutes"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": failures}
    alarm = _of("AWS::CloudWatch::Alarm")["ReconcileFailedAlarm"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ReconcileFailureQueue", "QueueName"]}


def test_the_firewall_is_on_unless_turned_off_and_the_custom_domain_is_an_option() -> None:
    waf = TEMPLATE.body["Parameters"]["WafRequestsPerIp"]
    assert int(waf["Default"]) >= 10  # on by default; 0 turns it off
    assert TEMPLATE.body["Conditions"]["UseWaf"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WafRequestsPerIp"}, "0"]}]
    }
    assert RESOURCES["WebAcl"]["Condition"] == "UseWaf"
    assert RESOURCES["WebAclAssociation"]["Condition"] == "UseWaf"
    acl = RESOURCES["WebAcl"]["Properties"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    per_ip = rules["RequestsPerIp"]["Statement"]["RateBasedStatement"]
    assert (per_ip["AggregateKeyType"], per_ip["Limit"]) == ("IP", {"Ref": "WafRequestsPerIp"})
    # images travel in bodies far over the common rule set's 8 KB: that rule only counts
    overrides = rules["CommonRules"]["Statement"]["ManagedRuleGroupStatement"]
    counted = {override["Name"] for override in overrides["RuleActionOverrides"]}
    assert "SizeRestrictions_BODY" in counted
    for name in ("ApiDomain", "ApiDomainMapping"):
        assert RESOURCES[name]["Condition"] == "UseDomain"
    base_url = TEMPLATE.body["Outputs"]["ApiBaseUrl"]["Value"]["Fn::If"]
    assert base_url[0] == "UseDomain"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _all_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource.get("Properties", {})
    policies = properties.get("Policies", [])
    if not isinstance(policies, list):
        return []  # a user pool's Policies: its password policy, no IAM
    documents = [policy.get("PolicyDocument", policy) for policy in policies]
    return [
        statement
        for document in documents
        if isinstance(document, dict)
        for statement in policy_statements(document)
    ]


def test_the_readme_says_what_each_function_may_do_as_the_template_does() -> None:
    from tests.iam_table import END, START, render

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index(START) + len(START) : readme.index(END)].strip()
    assert table == render(TEMPLATE)


def test_the_api_function_is_snapstarted_through_its_alias() -> None:
    api = RESOURCES["ApiFunction"]["Properties"]
    assert api["AutoPublishAlias"] == "live"
    assert api["SnapStart"] == {"ApplyOn": {"Ref": "ApiSnapStart"}}
    parameter = TEMPLATE.body["Parameters"]["ApiSnapStart"]
    assert parameter["Default"] == "PublishedVersions"
    assert "None" in parameter["AllowedValues"]  # how to turn it off
    assert TEMPLATE.function_property("ApiFunction", "Runtime") in ("python3.12", "python3.13")
