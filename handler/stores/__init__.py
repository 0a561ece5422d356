"""DynamoDB and S3 adapters: the only code that talks to AWS storage."""
