"""The template's functions as Lambda runs them, played locally: a function's settings and
event sources as ``template.yaml`` declares them, its handler, and one invocation.

Dev-only: Lambda code never imports this.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handler.cli.sqs_event import LambdaContext
from handler.cli.template import Template
from handler.observability import logger

Handler = Callable[[dict[str, Any], LambdaContext], Any]
# Lambda's own defaults, for what neither the function nor Globals set.
_DEFAULTS = {"Timeout": 3, "MemorySize": 128}
_LARGEST_RECEIVE = 10  # SQS's ceiling for one ReceiveMessage


@dataclass(frozen=True)
class QueueSource:
    """One function fed by one queue, as an SQS event of the template declares it."""

    function: str
    handler: str
    queue_url: str
    queue_arn: str
    batch_size: int
    timeout_seconds: int
    memory_mb: int
    report_failures: bool

    @property
    def function_arn(self) -> str:
        _, partition, _, region, account, _ = self.queue_arn.split(":")
        return f"arn:{partition}:lambda:{region}:{account}:function:{self.function}"


def queue_sources(template: Template, names: Mapping[str, str]) -> list[QueueSource]:
    """Every SQS event of every function; ``names`` is what ``create_resources`` returned."""
    local = dict(names)
    sources = []
    for function, props in template.resources("AWS::Serverless::Function").items():

        def setting(name: str, function: str = function) -> int:
            value = template.function_property(function, name)
            return int(template.resolve(_DEFAULTS[name] if value is None else value, local))

        for event in props.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            settings = event["Properties"]
            queue = settings["Queue"]["Fn::GetAtt"][0]  # SAM takes a queue's ARN, not its URL
            batch_size = int(template.resolve(settings.get("BatchSize", 10), local))
            sources.append(
                QueueSource(
                    function=function,
                    handler=props["Handler"],
                    queue_url=local[queue],
                    queue_arn=local[f"{queue}.Arn"],
                    batch_size=min(batch_size, _LARGEST_RECEIVE),
                    timeout_seconds=setting("Timeout"),
                    memory_mb=setting("MemorySize"),
                    report_failures="ReportBatchItemFailures"
                    in settings.get("FunctionResponseTypes", []),
                )
            )
    return sources


def invoke(
    handler: Handler, event: dict[str, Any], context: LambdaContext, correlation_id: str | None
) -> Any:
    """Call ``handler`` as Lambda would, in this thread: its log lines carry this
    invocation's function and request ids even while other invocations run beside it.

    Powertools keeps the Lambda context's log keys for the process (one invocation at a time,
    deployed); here several run at once, so the same keys are also set for this thread, and
    those win when a line is formatted."""
    keys = {
        "function_name": context.function_name,
        "function_memory_size": context.memory_limit_in_mb,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
        "correlation_id": correlation_id,
    }
    logger.thread_safe_append_keys(**{name: value for name, value in keys.items() if value})
    try:
        return handler(event, context)
    finally:
        logger.thread_safe_clear_keys()


def import_handler(path: str) -> Handler:
    module, _, name = path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler
