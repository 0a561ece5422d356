#!/bin/bash
# The streaming function's entry (template.yaml: StreamFunction). The Lambda Web Adapter
# (the layer, started by AWS_LAMBDA_EXEC_WRAPPER) forwards each invocation to this server on
# AWS_LWA_PORT and streams its answer back to API Gateway.
PYTHONPATH="$LAMBDA_TASK_ROOT:$PYTHONPATH" exec python -m uvicorn --factory "$IMAGEGATE_WEB_APP" \
    --host 127.0.0.1 --port "$AWS_LWA_PORT" --no-access-log --log-level warning --lifespan off
