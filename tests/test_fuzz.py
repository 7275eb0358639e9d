"""Fuzzing a real gateway process over the mocks: generated queries and mutations over the whole schema
(valid and invalid), and malformed HTTP bodies. Every answer is a well-formed typed response: never a
500, never an internal error, never a traceback — in the responses or in the gateway's log.

Hypothesis runs in a worker thread with a blocking client, so the event loop stays free to serve the
mock departments the gateway calls. Bounded: a fixed number of examples, no deadline per example.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from graphql import StringValueNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.server import RunningMocks
from schema import build_schema
from tests.access_support import WORLD
from tests.conftest import SUITE_SCALE
from tests.gateway_process import GatewayProcess, gateway_process, wait_ready

SECRET = "a-fuzzing-secret-of-at-least-thirty-two-bytes"
SCHEMA = build_schema()._schema
EXAMPLES = 200 * SUITE_SCALE
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # the same examples on every run: reproducible in CI
    derandomize=SUITE_SCALE == 1,  # the long run (make bench) explores new examples
)
ALLOWED_STATUSES = {200, 400, 401, 405, 406, 413, 415}
LEAKS = ("Traceback", 'File "', "INTERNAL_SERVER_ERROR")


def node(text: str) -> StringValueNode:
    return StringValueNode(value=text)


SCALARS = {
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda d: node(d.isoformat())),
        st.text(max_size=30).map(node),
    ),
    "Date": st.one_of(st.dates().map(lambda d: node(d.isoformat())), st.text(max_size=20).map(node)),
    "JSON": st.text(max_size=50).map(node),
}


@pytest.fixture
def fuzzed(mocks: RunningMocks, tmp_path: Path) -> Iterator[GatewayProcess]:
    with gateway_process(
        mocks.url, tmp_path, jwt_secret=SECRET, rate_limit_client="0", max_body_bytes="65536"
    ) as process:
        yield process


def tokens() -> list[str | None]:
    return [  # hypothesis favours the first: a resident, who may read their own data
        mint(SECRET, WORLD.residents[0].id_number, Role.RESIDENT, channel=ClientChannel.APP),
        mint(SECRET, "staff-1", Role.STAFF, channel=ClientChannel.COUNTER, station="ST-0001"),
        mint(SECRET, "operator-1", Role.OPERATOR),
        None,
    ]


def check(response: httpx.Response) -> str:
    """Assert the response is well-formed and clean; "DATA" when it carries data, else its first code."""
    assert response.status_code in ALLOWED_STATUSES, (response.status_code, response.text[:500])
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text[:1000])
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), body
    for error in body.get("errors") or []:
        assert isinstance(error["message"], str) and error["extensions"]["code"], error
    if body.get("data") or not body.get("errors"):
        return "DATA"  # `{"data": {}}` is a fine answer to a document whose fields are all skipped
    return str(body["errors"][0]["extensions"]["code"])


def run_document_fuzz(url: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    bearer = tokens()
    # one root field at a time as well: a refused non-null root field (`me` without a token) nulls the
    # whole response, which would hide how every other field answers
    assert SCHEMA.query_type is not None and SCHEMA.mutation_type is not None
    documents = st.one_of(
        queries(SCHEMA, custom_scalars=SCALARS),
        *(queries(SCHEMA, fields=[name], custom_scalars=SCALARS) for name in SCHEMA.query_type.fields),
        queries(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
        *(mutations(SCHEMA, fields=[name], custom_scalars=SCALARS) for name in SCHEMA.mutation_type.fields),
    )

    with httpx.Client(base_url=url, timeout=30) as client:

        @FUZZ
        @given(document=documents, token=st.sampled_from(bearer), get=st.booleans())
        def fuzz(document: str, token: str | None, get: bool) -> None:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            if get and document.lstrip().startswith("{"):
                response = client.get("/graphql", params={"query": document}, headers=headers)
            else:
                response = client.post("/graphql", json={"query": document}, headers=headers)
            seen[check(response)] += 1

        fuzz()
    return seen


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
REQUEST_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "query": JSON_VALUES | st.just("{ departments { id } }") | st.text(max_size=200),
        "variables": JSON_VALUES,
        "operationName": JSON_VALUES,
        "extensions": JSON_VALUES
        | st.fixed_dictionaries({"persistedQuery": st.fixed_dictionaries({"sha256Hash": JSON_VALUES})}),
        "documentId": JSON_VALUES,
    },
)


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BODIES = st.one_of(
    st.binary(max_size=300),  # bad JSON, invalid UTF-8
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    REQUEST_LIKE.map(lambda v: json.dumps(v).encode()),
    st.lists(REQUEST_LIKE, max_size=3).map(lambda v: json.dumps(v).encode()),  # batches
    st.integers(1, 100_000).map(nested_arrays),
    st.integers(1, 10_000).map(lambda n: b'{"query": "{ departments { id } }", "x": "' + b"\xff" * n + b'"}'),
    st.sampled_from([b'{"query": "' + b"a" * 100_000 + b'"}', b"\x00" * 70_000, b'{"query": "\\ud800"}']),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "",
    ]
)
ACCEPTS = st.sampled_from(["application/json", "application/graphql-response+json", "*/*", "text/html", ""])


def run_body_fuzz(url: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=url, timeout=30) as client:

        @FUZZ
        @given(
            body=BODIES, content_type=CONTENT_TYPES, accept=ACCEPTS, method=st.sampled_from(["POST", "GET"])
        )
        def fuzz(body: bytes, content_type: str, accept: str, method: str) -> None:
            headers = {"content-type": content_type, "accept": accept}
            if method == "GET":
                text = body.decode("utf-8", "replace")[:2000]
                response = client.get("/graphql", params={"query": text, "variables": text}, headers=headers)
            else:
                response = client.post("/graphql", content=body, headers=headers)
            if response.headers.get("content-type", "").startswith("text/html"):
                assert response.status_code == 200  # GraphiQL, for a browser
                seen["GRAPHIQL"] += 1
                return
            seen[check(response)] += 1

        fuzz()
    return seen


async def test_generated_documents_over_the_whole_schema(fuzzed: GatewayProcess) -> None:
    await asyncio.to_thread(wait_ready, fuzzed.url)
    seen = await asyncio.to_thread(run_document_fuzz, fuzzed.url)
    print(f"\ndocuments: {dict(seen)}")
    assert seen.total() >= EXAMPLES
    assert seen["DATA"] >= EXAMPLES // 20  # the generated queries do run, not only fail validation
    assert not fuzzed.log_problems()


async def test_malformed_http_bodies(fuzzed: GatewayProcess) -> None:
    await asyncio.to_thread(wait_ready, fuzzed.url)
    seen = await asyncio.to_thread(run_body_fuzz, fuzzed.url)
    print(f"\nbodies: {dict(seen)}")
    assert seen.total() >= EXAMPLES
    assert not fuzzed.log_problems()


def test_the_scalars_cover_the_schema() -> None:
    """A new custom scalar needs a strategy here, or hypothesis-graphql skips the fields that take it."""
    builtin = {"ID", "String", "Int", "Float", "Boolean"}
    custom = {n for n, t in SCHEMA.type_map.items() if type(t).__name__ == "GraphQLScalarType"} - builtin
    assert custom <= set(SCALARS), custom - set(SCALARS)
