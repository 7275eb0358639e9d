"""Query limits: depth, aliases, tokens, cost and introspection, typed, cheap, cached per document."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSyntaxError, parse

import schema.limits as limits_module
from schema import build_schema
from schema.limits import Analyzer, QueryLimits, count_tokens, measure
from tests.conftest import GatewayFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
SCHEMA = build_schema()._schema
DEEP = "{ services { edges { node { department { id } } } } }"  # 5 levels


def shape(query: str, variables: dict[str, Any] | None = None, list_size: int = 10) -> limits_module.Shape:
    return measure(SCHEMA, parse(query), None, variables or {}, list_size)


async def refused(make_gateway: GatewayFactory, query: str, variables: Any = None, **settings: Any) -> Any:
    gateway = await make_gateway(**settings)
    response = await gateway.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body and len(body["errors"]) == 1
    return body["errors"][0]


def test_depth_counts_nesting_and_follows_fragments() -> None:
    assert shape(DEEP).depth == 5
    assert shape("{ departments { id } }").depth == 2
    with_fragment = (
        "fragment D on Department { id name } { services { edges { node { department { ...D } } } } }"
    )
    assert shape(with_fragment).depth == 5
    assert shape("{ __typename departments { __typename id } }").depth == 2  # __typename is free


def test_cost_multiplies_lists_by_first_and_connections_by_their_edges() -> None:
    flat = shape("{ departments { id name } }")
    assert flat.cost == 10 * (1 + 2)  # a list without `first`: default_list_size
    page = shape("{ services(first: 20) { totalCount edges { node { id name } } } }")
    # services 1, totalCount 1, edges: 20 × (edges 1 + node 1 + 2 fields)
    assert page.cost == 1 + 1 + 20 * (1 + 1 + 2)
    nested = shape(
        "{ stations(near: {latitude: 31, longitude: 121}, first: 100) { station { services { id } } } }"
    )
    assert nested.cost == 100 * (1 + 1 + 10 * (1 + 1))  # list inside a list multiplies
    defaulted = shape("{ stations(near: {latitude: 31, longitude: 121}) { walkMinutes } }")
    assert defaulted.cost == 50 * 2  # the argument's declared default


def test_cost_takes_sizes_from_variables_and_their_defaults() -> None:
    query = "query($n: Int = 30) { services(first: $n) { edges { node { id } } } }"
    assert shape(query).cost == 1 + 30 * 3
    assert shape(query, {"n": 2}).cost == 1 + 2 * 3
    assert shape(query, {"n": "garbage"}).cost == 1 + 10 * 3  # a bad size: the resolver refuses it


def test_aliases_are_counted_in_the_text_including_fragments() -> None:
    aliased = "{ a: departments { id } b: departments { x: id } }"
    assert shape(aliased).aliases == 3
    spread_twice = "fragment F on Department { y: id } { departments { ...F ...F } }"
    assert shape(spread_twice).aliases == 2


def test_a_fragment_bomb_is_measured_in_linear_time() -> None:
    # F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^40 fields if expanded naively
    fragments = [f"fragment F{i} on Department {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)]
    fragments.append("fragment F40 on Department { id }")
    query = " ".join(fragments) + " { departments { ...F0 } }"
    started = time.perf_counter()
    measured = shape(query)
    assert time.perf_counter() - started < 0.5
    assert measured.cost > 2**40  # and it is refused as far too complex


def test_cyclic_fragments_do_not_loop() -> None:
    query = "fragment A on Department { ...B } fragment B on Department { ...A } { departments { ...A } }"
    assert shape(query).depth == 1


def test_token_count_matches_the_parser_and_stops_at_the_cap() -> None:
    query = "query Q($n: Int = 3) { departments { id ... on Department { name } } }"
    tokens = count_tokens(query, cap=1000)
    assert tokens == 22
    parse(query, max_tokens=tokens)  # the parser agrees: exactly this many
    with pytest.raises(GraphQLSyntaxError):
        parse(query, max_tokens=tokens - 1)
    assert count_tokens("{ a " * 1000, cap=50) == 50
    assert count_tokens('{ "unterminated', cap=100) is None  # the parser reports the syntax error


def test_analysis_is_cached_per_document_and_size_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = Analyzer(QueryLimits())
    calls = 0
    real = limits_module.measure

    def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(limits_module, "measure", counting)
    query = "query($n: Int, $q: String) { services(first: $n, search: $q) { totalCount } }"
    document = parse(query)
    for search in ("a", "b", "c"):  # variables that are not sizes do not split the cache
        analyzer.check(SCHEMA, query, document, None, {"n": 5, "q": search})
    assert calls == 1
    analyzer.check(SCHEMA, query, document, None, {"n": 6})
    assert calls == 2


def test_a_cached_check_is_cheap() -> None:
    analyzer = Analyzer(QueryLimits())
    query = "{ services(first: 20) { totalCount edges { node { id name category department { id } } } } }"
    document = parse(query)
    analyzer.check(SCHEMA, query, document, None, None)
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        analyzer.check(SCHEMA, query, document, None, None)
    per_check = (time.perf_counter() - started) / rounds
    assert per_check < 50e-6, per_check  # a few microseconds; generous for a shared machine


async def test_over_deep_queries_are_refused_with_limit_and_actual(make_gateway: GatewayFactory) -> None:
    error = await refused(make_gateway, DEEP, max_depth=4)
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 4, "actual": 5}


async def test_too_many_aliases_are_refused(make_gateway: GatewayFactory) -> None:
    query = "{ " + " ".join(f"d{i}: departments {{ id }}" for i in range(6)) + " }"
    error = await refused(make_gateway, query, max_aliases=5)
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES", "limit": 5, "actual": 6}


async def test_too_complex_queries_are_refused(make_gateway: GatewayFactory) -> None:
    query = (
        "query($n: Int!) { stations(near: {latitude: 31, longitude: 121}, first: $n) "
        "{ station { services { id } } } }"
    )
    error = await refused(make_gateway, query, {"n": 200}, max_complexity=1000)
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 1000, "actual": 200 * (2 + 10 * 2)}


async def test_too_many_tokens_are_refused_before_parsing(make_gateway: GatewayFactory) -> None:
    query = "{ " + "departments { id } " * 30 + "}"  # 2 + 30 × 4 tokens
    error = await refused(make_gateway, query, max_tokens=100)
    assert error["extensions"] == {"code": "TOO_MANY_TOKENS", "limit": 100, "actual": 122}


async def test_long_strings_are_not_many_tokens(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(max_tokens=20)
    query = '{ services(search: "%s") { totalCount } }' % ("老年人" * 20)
    assert len(query) > 20  # so the tokens are counted: 8
    body = await gateway.query(query)
    assert "errors" not in body, body


async def test_introspection_can_be_switched_off(make_gateway: GatewayFactory) -> None:
    error = await refused(make_gateway, "{ __schema { queryType { name } } }", introspection=False)
    assert error["extensions"] == {"code": "INTROSPECTION_DISABLED"}
    error = await refused(make_gateway, '{ __type(name: "Service") { name } }', introspection=False)
    assert error["extensions"] == {"code": "INTROSPECTION_DISABLED"}


async def test_limits_leave_ordinary_queries_alone(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(mode="production")
    body = await gateway.query(
        "{ __typename departments { id } services(first: 100) { totalCount edges { node { id name "
        "criteria { fact op value } department { id name } } } } }"
    )
    assert "errors" not in body and len(body["data"]["services"]["edges"]) == 75


async def test_graphiql_introspection_passes_the_limits_when_introspection_is_on(
    make_gateway: GatewayFactory,
) -> None:
    from graphql import get_introspection_query

    gateway = await make_gateway(max_depth=5, max_complexity=100)
    body = await gateway.query(get_introspection_query(descriptions=True))
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_long_documents_are_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = Analyzer(QueryLimits(max_tokens=50))
    counted = 0
    real = limits_module.count_tokens

    def counting(query: str, cap: int) -> int | None:
        nonlocal counted
        counted += 1
        return real(query, cap)

    monkeypatch.setattr(limits_module, "count_tokens", counting)
    long_but_few = '{ services(search: "%s") { totalCount } }' % ("x" * 100)
    for _ in range(3):
        analyzer.check_tokens(long_but_few)
    assert counted == 1
    analyzer.check_tokens("{ departments { id } }")  # shorter than the limit: never counted
    assert counted == 1
    too_many = "{ " + "a " * 60 + "}"
    for _ in range(2):
        with pytest.raises(GraphQLError) as refused:
            analyzer.check_tokens(too_many)
        assert refused.value.extensions == {"code": "TOO_MANY_TOKENS", "limit": 50, "actual": 62}
    assert counted == 2
