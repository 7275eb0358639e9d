"""Extension hooks made once per class (schema/hooks.py) run as strawberry's own runner runs them:
the same order in and out, the same exceptions seen by each hook, the same exception out of a phase."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from schema.hooks import Runner

# what each extension does when its on_operation is left: nothing, swallow, raise its own error
BEHAVIOURS = ("pass", "swallow", "raise")


def recording(name: str, events: list[str], behaviour: str) -> type[SchemaExtension]:
    class Sync(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            events.append(f"{name} in")
            try:
                yield
            except Exception as error:
                events.append(f"{name} saw {error!r} (context {error.__context__!r})")
                if behaviour != "swallow":
                    raise
            if behaviour == "raise":
                raise RuntimeError(f"{name} failed")
            events.append(f"{name} out")

        def on_execute(self) -> Iterator[None]:
            events.append(f"{name} executes")
            yield

    class Async(SchemaExtension):
        async def on_operation(self) -> AsyncIterator[None]:
            events.append(f"{name} in")
            try:
                yield
            except Exception as error:
                events.append(f"{name} saw {error!r}")
                if behaviour != "swallow":
                    raise
            if behaviour == "raise":
                raise RuntimeError(f"{name} failed")
            events.append(f"{name} out")

        async def on_validate(self) -> None:
            events.append(f"{name} validates")

    return Async if name.startswith("a") else Sync


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


class Made(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> Runner:
        return Runner(execution_context=execution_context, extensions=extensions)


async def run(schema_class: type[strawberry.Schema], behaviours: tuple[str, str, str]) -> list[str]:
    events: list[str] = []
    names = ("s1", "a2", "s3")
    extensions: list[Any] = [recording(n, events, b) for n, b in zip(names, behaviours, strict=True)]
    schema = schema_class(Query, extensions=extensions)
    try:
        result = await schema.execute("{ hello }")
        events.append(f"result {result.data} {result.errors}")
    except Exception as error:
        events.append(f"raised {error!r} (context {error.__context__!r})")
    return events


@pytest.mark.parametrize(
    "behaviours", [(a, b, c) for a in BEHAVIOURS for b in BEHAVIOURS for c in BEHAVIOURS]
)
async def test_phases_enter_leave_and_raise_as_strawberrys(behaviours: tuple[str, str, str]) -> None:
    assert await run(Made, behaviours) == await run(strawberry.Schema, behaviours)


async def test_the_phases_do_not_use_an_exit_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    stacks: list[object] = []
    enter = contextlib.AsyncExitStack.__aenter__

    async def counting(self: contextlib.AsyncExitStack) -> Any:
        stacks.append(self)
        return await enter(self)

    monkeypatch.setattr(contextlib.AsyncExitStack, "__aenter__", counting)
    events = await run(Made, ("pass", "pass", "pass"))
    assert events[-1] == "result {'hello': 'hi'} None"
    assert stacks == []
    await run(strawberry.Schema, ("pass", "pass", "pass"))
    assert stacks  # strawberry's own runner: one per phase
