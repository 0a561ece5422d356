"""The account and region a deploy goes to, as a source of clients."""

from typing import Any

import boto3

from handler.aws.clients import session_client


class Account:
    def __init__(self, session: boto3.Session, region: str):
        self.session = session
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region (the deploy's region unless named), made once."""
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = session_client(self.session, *key)
        return self._clients[key]

    def commercial(self) -> bool:
        """Whether the region is in AWS's commercial partition (not China's or GovCloud)."""
        return self.session.get_partition_for_region(self.region) == "aws"
