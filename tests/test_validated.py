"""Validation remembered per parsed document (schema/validated.py): same answers as validating every
time, without hashing the document tree on every request."""

from __future__ import annotations

import pytest
import strawberry
from graphql import DocumentNode
from strawberry.extensions import ParserCache

from schema.validated import document_validation


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    cached = strawberry.Schema(Query, extensions=[lambda: ParserCache(maxsize=8), document_validation(8)])
    return cached, strawberry.Schema(Query)


@pytest.mark.parametrize(
    "document", ["{ hello }", '{ hello(name: "x") }', "{ goodbye }", "{ hello(name: 1) }", "{ hello { x } }"]
)
async def test_answers_are_those_of_validating_every_time(document: str) -> None:
    cached, plain = schemas()
    expected = await plain.execute(document)
    for _ in range(3):  # the first validates, the others remember
        got = await cached.execute(document)
        assert got.data == expected.data
        assert [e.formatted for e in got.errors or ()] == [e.formatted for e in expected.errors or ()]


async def test_the_document_is_never_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    """strawberry's ValidationCache keys an lru_cache by the document: a hash of the whole tree."""

    def refuse(self: DocumentNode) -> int:
        raise AssertionError("the document was hashed")

    monkeypatch.setattr(DocumentNode, "__hash__", refuse)
    cached, _ = schemas()
    for _ in range(2):
        result = await cached.execute("{ hello }")
        assert result.errors is None and result.data == {"hello": "hello world"}


async def test_a_cache_is_bounded() -> None:
    cached, _ = schemas()
    for i in range(20):
        assert (await cached.execute(f'{{ hello(name: "{i}") }}')).errors is None
    (extension,) = [e for e in cached.get_extensions() if hasattr(e, "cache")]
    assert len(extension.cache) == 8  # type: ignore[attr-defined]
