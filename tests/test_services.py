"""The app's parts are typed: ``Services`` names each, the context carries it, ``app.state`` holds only it.

mypy checks every use of ``info.context.services.<part>``, but only if no ``Any`` is on the way: these
tests fail if one comes back (an untyped field, a new attribute hung on ``app.state``).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema.context import Context
from schema.view import GraphQLView
from services import Services, services_of
from tests.conftest import Gateway


def mentions_any(hint: object) -> bool:
    """Whether ``Any`` is in the type, at any depth (``dict[str, Any]``, ``X | Any``, ...)."""
    return hint is Any or any(mentions_any(arg) for arg in typing.get_args(hint))


def test_the_checker_sees_any_at_any_depth() -> None:
    assert mentions_any(Any) and mentions_any(dict[str, Any]) and mentions_any(list[int] | Any)
    assert not mentions_any(dict[str, int]) and not mentions_any(Services | None)


def test_the_context_carries_the_services_typed() -> None:
    hints = typing.get_type_hints(Context)
    assert hints["services"] is Services
    assert "state" not in hints  # the untyped app state is gone from the request's path
    for name in ("registry", "services", "request", "principal", "channel"):
        assert not mentions_any(hints[name]), name


def test_every_part_is_named_and_typed() -> None:
    hints = typing.get_type_hints(Services)
    fields = {f.name for f in dataclasses.fields(Services)}
    assert fields == set(hints) and len(fields) >= 18
    untyped = [name for name, hint in hints.items() if mentions_any(hint) or hint is object]
    assert untyped == []


def test_a_part_cannot_be_swapped_under_a_running_app(gateway: Gateway) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        gateway.services.registry = gateway.services.registry  # type: ignore[misc]


async def test_app_state_holds_the_services_and_nothing_else(gateway: Gateway) -> None:
    """A part hung on ``app.state`` beside them would be untyped again: add a field to ``Services``."""
    assert set(vars(gateway.app.state)["_state"]) == {"services"}
    services = services_of(gateway.app)
    assert isinstance(services, Services)
    assert services.life.started  # the lifespan ran Services.start
    assert services.registry.all()  # and it loaded the bundled connectors


def test_services_of_an_app_built_elsewhere_is_refused() -> None:
    with pytest.raises(LookupError, match="create_app"):
        services_of(Starlette())


async def test_every_request_gets_the_apps_services(gateway: Gateway) -> None:
    """The view hands the app's one ``Services`` to each context (not a copy, not a new build), with
    the connector versions served when the request began."""
    services = gateway.services
    route = next(r for r in gateway.app.routes if isinstance(r, Route) and r.path == "/graphql")
    view = route.endpoint
    assert isinstance(view, GraphQLView)
    request = Request(
        {"type": "http", "method": "POST", "path": "/graphql", "headers": [], "app": gateway.app}
    )
    context = await view.get_context(request, Response())
    assert context.services is services
    assert context.registry.versions() == services.registry.versions()
    assert view.documents is services.documents and view.manifests is services.persisted
    assert view.responses is services.response_cache
