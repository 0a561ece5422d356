"""The process-wide Logger, Tracer and Metrics.

Powertools reads its own POWERTOOLS_* variables; Tracer switches itself off outside Lambda.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "imagegate"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="imagegate", service=SERVICE)
