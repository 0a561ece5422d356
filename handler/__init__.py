"""imagegate: an OpenAI-compatible, pay-per-request image generation API for AWS Lambda."""
