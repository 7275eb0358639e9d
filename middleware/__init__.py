"""ASGI middleware that guards the gateway before any GraphQL work: CORS, in-flight limit, rate limits,
body size. ``hardening(settings)`` builds them in the order they must run (see its docstring)."""

from middleware.stack import Guards, hardening

__all__ = ["Guards", "hardening"]
