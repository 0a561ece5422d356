"""Amazon Bedrock's image models through ``bedrock-runtime`` ``InvokeModel``.

Each image is its own invocation with its own seed, run in parallel within the request's
deadline: every seed in a response reproduces its image, and an image Bedrock's filters
remove costs only that image. botocore never retries an invocation (a retry is a second
paid image). What a deployment may invoke, and in which region, is the stack's
``BedrockModelArns`` (``grants.py``); the request and response bodies are each family's
(``stability.py``, ``amazon.py``).
"""

from handler.backends.bedrock.backend import BedrockBackend
from handler.backends.bedrock.grants import Grants

__all__ = ["BedrockBackend", "Grants"]
