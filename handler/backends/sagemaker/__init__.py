"""SageMaker endpoints through boto3's ``sagemaker-runtime``: real-time inference
(``realtime``) or asynchronous inference through S3 (``async_inference``), as the catalog
entry says the endpoint was deployed; ``contracts`` say how each kind of endpoint takes its
request and gives its images back."""

from handler.backends.sagemaker.backend import SageMakerBackend
from handler.backends.sagemaker.params import SageMakerParams

__all__ = ["SageMakerBackend", "SageMakerParams"]
