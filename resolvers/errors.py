"""A client's mistake: answered with a typed error naming the argument, never a 500."""

from __future__ import annotations


class InputError(ValueError):
    code = "BAD_USER_INPUT"

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.extensions = {"code": self.code, "argument": argument}  # carried onto the GraphQL error
