"""Schema extension hooks at the price of the hooks themselves.

Strawberry opens four hook phases per operation (operation, parsing, validation, execution) and, for
each phase, asks every extension again whether it has that hook, what kind it is, and wraps it in a new
``contextlib.contextmanager`` (a ``functools.wraps`` copy per extension per phase per request).
Profiled on a trivial query, that bookkeeping was about 40 % of the request's CPU; with eight
extensions listed, most of them hook one or two phases.

Here each extension class is looked at once per phase: the wrapped hook is made then and only bound to
the request's extension instance afterwards. Entering, leaving and exceptions still go through
``contextlib`` and an exit stack exactly as in strawberry, so every hook sees what it saw before; an
extension without a hook for a phase, or without results, costs nothing in it.
"""

from __future__ import annotations

import contextlib
import inspect
import types
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

# (extension class, hook name) -> (context manager function taking the extension, is async), or None
Made = tuple[Callable[[SchemaExtension], Any], bool] | None
_made: dict[tuple[type[SchemaExtension], str], Made] = {}


def made(cls: type[SchemaExtension], name: str) -> Made:
    """The context manager function for ``cls``'s hook ``name``, made once per class."""
    key = (cls, name)
    if key not in _made:
        _made[key] = _make(getattr(cls, name), getattr(SchemaExtension, name), f"{cls.__name__}.{name}")
    return _made[key]


# (hook name, the extensions' classes in order) -> (position, context manager function, is async)
_phases: dict[tuple[str, tuple[type[SchemaExtension], ...]], list[tuple[int, Any, bool]]] = {}


def _phase(name: str, classes: tuple[type[SchemaExtension], ...]) -> list[tuple[int, Any, bool]]:
    """The extensions (by position) with a hook for phase ``name``, found once per list of classes:
    the schema's list is the same on every request."""
    key = (name, classes)
    found = _phases.get(key)
    if found is None:
        found = []
        for index, cls in enumerate(classes):
            hook = made(cls, name)
            if hook is not None:
                found.append((index, hook[0], hook[1]))
        if len(_phases) < 256:  # one list per schema in practice
            _phases[key] = found
    return found


def _make(hook: Any, default: Any, where: str) -> Made:
    if hook is default or hook is None:
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if not callable(hook):
        raise ValueError(f"Hook {where} must be callable, received {hook!r}")
    if inspect.iscoroutinefunction(hook):

        @contextlib.asynccontextmanager
        async def awaited(extension: SchemaExtension) -> AsyncIterator[None]:
            await hook(extension)
            yield

        return awaited, True

    @contextlib.contextmanager
    def called(extension: SchemaExtension) -> Iterator[None]:
        hook(extension)
        yield

    return called, False


class _Made(ExtensionContextManagerBase):
    """Strawberry's phase context manager, its hooks found through ``made``.

    Asynchronously entered (every HTTP request, four times) the hooks' context managers are entered in
    order and left in reverse as nested ``with`` blocks would be, which is what strawberry's
    ``AsyncExitStack`` does, without the stack's callback wrappers: an exception is passed to each
    exit in turn, a hook that swallows it stops it for the ones after it, and one raised by an exit
    replaces it (chained to it) and leaves the phase. As in strawberry, the phase itself never
    swallows the exception it was left with, and entering stops at the first hook that raises, the
    hooks entered before it not left.
    """

    __slots__ = ()

    def __init__(self, extensions: list[SchemaExtension]) -> None:
        self.hooks = [
            WrappedHook(extensions[index], types.MethodType(function, extensions[index]), is_async)
            for index, function, is_async in _phase(self.HOOK_NAME, tuple(map(type, extensions)))
        ]

    async def __aenter__(self) -> None:
        entered: list[tuple[Any, bool]] = []
        self.async_exit_stack = entered  # type: ignore[assignment]  # the slot strawberry keeps its stack in
        for hook in self.hooks:
            manager: Any = hook.hook()
            if hook.is_async:
                await manager.__aenter__()
            else:
                manager.__enter__()
            entered.append((manager, hook.is_async))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        entered: list[tuple[Any, bool]] = self.async_exit_stack  # type: ignore[assignment]
        received, pending = exc, exc
        for manager, is_async in reversed(entered):
            details = (
                (None, None, None) if pending is None else (type(pending), pending, pending.__traceback__)
            )
            try:
                swallowed = await manager.__aexit__(*details) if is_async else manager.__exit__(*details)
            except BaseException as raised:
                if raised is not pending:
                    _chain(raised, pending)
                pending = raised
                continue
            if swallowed:
                pending = None
        if pending is not None and pending is not received:
            raise pending


def _chain(raised: BaseException, pending: BaseException | None) -> None:
    """``raised`` with ``pending`` as its context, as a nested ``with`` block would have set it."""
    if pending is None or raised is pending:
        return
    end = raised
    while end.__context__ is not None and end.__context__ is not pending:
        if end.__context__ is end:
            return
        end = end.__context__
    end.__context__ = pending


class _Operation(_Made, OperationContextManager):
    __slots__ = ()


class _Parsing(_Made, ParsingContextManager):
    __slots__ = ()


class _Validation(_Made, ValidationContextManager):
    __slots__ = ()


class _Executing(_Made, ExecutingContextManager):
    __slots__ = ()


def _has_results(cls: type[SchemaExtension]) -> bool:
    return cls.get_results is not SchemaExtension.get_results


class Runner(SchemaExtensionsRunner):
    """Strawberry's runner with ``made`` hooks; results asked only of extensions that have any."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)

    def get_extensions_results_sync(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if _has_results(type(extension)):
                if inspect.iscoroutinefunction(extension.get_results):
                    raise RuntimeError("Cannot use async extension hook during sync execution")
                data.update(extension.get_results())  # type: ignore[arg-type]
        return data

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if _has_results(type(extension)):
                data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
