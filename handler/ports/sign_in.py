"""Members' sign-up and sign-in, as the user pool does them (``stores/sign_in.py``)."""

from typing import Protocol

from handler.core.records.sign_in import Tokens


class SignIn(Protocol):
    def sign_up(self, email: str, password: str) -> None:
        """A login awaiting the code the pool sends to ``email``."""
        ...

    def confirm(self, email: str, code: str) -> None: ...

    def resend(self, email: str) -> None: ...

    def sign_in(self, email: str, password: str) -> Tokens: ...

    def refresh(self, refresh_token: str) -> Tokens: ...

    def invite(self, email: str) -> bool:
        """A login for ``email``, its temporary password emailed; False if it has one."""
        ...

    def new_password(self, email: str, temporary: str, password: str) -> Tokens:
        """An invited login's first sign-in, its temporary password for one of its own."""
        ...
