"""The composition root: one module per Lambda function, each its function's handler
(``template.yaml`` names it), importing only what that function runs.

Decorator order on every handler, outermost first: Logger (correlation id from API Gateway,
cold start, context keys), Metrics (flushed after the response is known).

In Lambda, importing a function's module is its init phase (``phases.start``); elsewhere (the
tests, the local stack) it does no work. An init phase allocates what the process keeps for
its life (modules, the app, clients), and Python's cyclic garbage collector would walk all of
it again each time it grows by a quarter: in Lambda it waits from here to the end of the init
phase, which then sets what was made aside from every later collection (``phases.start``).
"""

import gc

from handler.config import lambda_runtime

if lambda_runtime().in_lambda:
    gc.disable()
