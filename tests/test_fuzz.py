"""Fuzzing real gateway processes over the mocks, on SQLite and on PostgreSQL (in production mode).

Generated documents over the whole schema (queries, mutations and subscriptions, valid and invalid)
with control characters and boundary values in every argument, inline or as variables, sent over POST
and GET by every role, under several fixed seeds (``make bench``: new random seeds, ten times the
documents); a deterministic sweep of every argument's edge values (``fuzz_support.sweep``); and
malformed HTTP bodies. Every answer is a well-formed typed response: never a 5xx, never
an ``INTERNAL_SERVER_ERROR``, never a traceback in a response or in the gateway's log. Failures are
collected, not raised at the first, so a failing run lists every failing document by class.

Hypothesis runs in a worker thread with a blocking client, so the event loop stays free to serve the
mock departments the gateway calls. Bounded: a fixed number of examples, no deadline per example.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st

from mocks.server import RunningMocks
from schema import build_schema
from tests.conftest import SUITE_SCALE, TEST_DIGEST_KEY, fresh_postgres
from tests.fuzz_support import SCALARS, Outcomes, Request, problem_of, requests, role_tokens, send, sweep
from tests.gateway_process import GatewayProcess, gateway_process, wait_ready
from tests.test_access_matrix import DOORS, Door

SECRET = "a-fuzzing-secret-of-at-least-thirty-two-bytes"
SCHEMA = build_schema()._schema
# (database, mode): make test runs the two that differ most; make bench all four
CONFIGS = [("sqlite", "development"), ("postgresql", "production")]
if SUITE_SCALE > 1:
    CONFIGS += [("sqlite", "production"), ("postgresql", "development")]
DOCUMENTS = 1_000 * SUITE_SCALE  # over all configurations and seeds
# make test: fixed seeds, the same documents on every run (reproducible in CI); make bench: new ones
SEEDS = (1, 2, 3, 4) if SUITE_SCALE == 1 else tuple(random.randrange(2**32) for _ in range(4))
PER_SEED = -(-DOCUMENTS // (len(CONFIGS) * len(SEEDS)))
BODIES_EXAMPLES = 200 * SUITE_SCALE
BODIES_FUZZ = settings(
    max_examples=BODIES_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=SUITE_SCALE == 1,
)


GENERATED = settings(
    max_examples=PER_SEED,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.generate],  # failures are collected, not raised: nothing to shrink
)


@pytest.fixture
def fuzzed(mocks: RunningMocks, tmp_path: Path) -> Iterator[GatewayProcess]:
    with gateway_process(
        mocks.url, tmp_path, jwt_secret=SECRET, rate_limit_client="0", max_body_bytes="65536"
    ) as process:
        yield process


def run_documents(url: str, config: str, seeds: tuple[int, ...]) -> tuple[Outcomes, dict[int, int]]:
    """``PER_SEED`` generated requests under each seed; the outcomes and the count run per seed."""
    outcomes = Outcomes()
    per_seed: dict[int, int] = {}
    tokens = role_tokens(SECRET)
    with httpx.Client(base_url=url, timeout=30) as client:
        for seed in seeds:
            before = outcomes.total
            where = f"{config} seed {seed}"

            @with_seed(seed)
            @GENERATED
            @given(request=requests(SCHEMA))
            def fuzz(request: Request) -> None:
                response = send(client, request, tokens[request.role])
                shown = request.short()
                outcomes.record(f"{where} {request.role} {request.method}", shown, response, request.document)  # noqa: B023

            fuzz()
            per_seed[seed] = outcomes.total - before
    return outcomes, per_seed


PROBLEM_MARKS = ("Traceback", '"level":"error"', '"level":"critical"', " ERROR ", " CRITICAL ")


def run_sweep(url: str, config: str) -> Outcomes:
    """Every boundary value of every argument, each sent by the role that gets furthest past the door."""
    outcomes = Outcomes()
    tokens = role_tokens(SECRET)
    with httpx.Client(base_url=url, timeout=30) as client:
        for request in sweep(SCHEMA, role_for):
            response = send(client, request, tokens[request.role])
            where = f"{config} sweep {request.role}"
            outcomes.record(where, request.short(), response, request.document)
    return outcomes


def role_for(door: str) -> str:
    """Admins for connector fields, staff for their own acts, else a resident (who reaches the most)."""
    return {Door.ADMIN: "operator", Door.STAFF: "staff", Door.SLOTS: "staff"}.get(
        DOORS[door].door, "resident"
    )


def log_report(process: GatewayProcess, limit: int = 12) -> str:
    """The gateway log's problems by class (message, exception, where in our code), counted."""
    lines = process.log_text().splitlines()
    problems = [
        log_class(line, lines[index + 1 :])
        for index, line in enumerate(lines)
        if any(mark in line for mark in PROBLEM_MARKS)
    ]
    return "\n".join(f"  {count} x {problem}" for problem, count in Counter(problems).most_common(limit))


def log_class(line: str, after: list[str]) -> str:
    """``message | ExceptionType: text | our innermost frame`` of a JSON log line; for a plain-text
    traceback (uvicorn's "Exception in ASGI application") its exception line."""
    try:
        entry = json.loads(line)
    except ValueError:
        if "Traceback" not in line:
            return line[:300]
        exception = next((a for a in after if a and not a[0].isspace()), "")
        return f"plain-text traceback | {exception[:200]}"
    trace = str(entry.get("exception", "")).strip().splitlines()
    ours = [t.strip() for t in trace if t.strip().startswith('File "') and "site-packages" not in t]
    last = trace[-1][:200] if trace else ""
    return f"{entry.get('message', '')[:120]} | {last} | {ours[-1] if ours else ''}"


@pytest.mark.parametrize(("database", "mode"), CONFIGS, ids=[f"{d}-{m}" for d, m in CONFIGS])
async def test_generated_documents_over_the_whole_schema(
    mocks: RunningMocks, tmp_path: Path, database: str, mode: str
) -> None:
    settings_: dict[str, str] = {"mode": mode, "digest_key": TEST_DIGEST_KEY}
    if mode == "production":  # against the mocks' public credentials, with test tokens (HS256)
        settings_ |= {"allow_repository_secrets": "true", "allow_hs256": "true"}
    if database == "postgresql":
        settings_["database_url"] = await fresh_postgres()
    config = f"{database}/{mode}"
    with gateway_process(
        mocks.url, tmp_path, jwt_secret=SECRET, rate_limit_client="0", max_body_bytes="65536", **settings_
    ) as process:
        await asyncio.to_thread(wait_ready, process.url)
        started = time.monotonic()
        seeds = tuple(s + 100 * CONFIGS.index((database, mode)) for s in SEEDS)  # new documents each
        outcomes, per_seed = await asyncio.to_thread(run_documents, process.url, config, seeds)
        seconds = time.monotonic() - started
        started = time.monotonic()
        swept = await asyncio.to_thread(run_sweep, process.url, config)
        sweep_seconds = time.monotonic() - started
    print(f"\n{config}: {outcomes.total} documents in {seconds:.1f} s, per seed {per_seed}")
    print(f"outcomes: {dict(outcomes.seen.most_common())}")
    print(
        f"boundary sweep: {swept.total} documents in {sweep_seconds:.1f} s: {dict(swept.seen.most_common())}"
    )
    logged = log_report(process)
    failures = outcomes.failures + swept.failures
    report = Outcomes(failures=failures).report()
    if failures or logged:
        print(f"{report}\ngateway log problems:\n{logged}")
    assert outcomes.total >= PER_SEED * len(SEEDS)
    assert outcomes.seen["DATA"] >= outcomes.total // 50  # generated queries do run, not only fail
    assert not failures, report
    assert not logged, logged


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


def run_body_fuzz(url: str) -> Outcomes:
    outcomes = Outcomes()
    with httpx.Client(base_url=url, timeout=30) as client:

        @BODIES_FUZZ
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
            if response.headers.get("content-type", "").startswith("text/html") and problem_of(response):
                assert response.status_code == 200  # GraphiQL, for a browser
                outcomes.seen["GRAPHIQL"] += 1
                return
            shown = f"{method} {content_type!r} {body[:160]!r}"
            outcomes.record("bodies", shown, response)

        fuzz()
    return outcomes


async def test_malformed_http_bodies(fuzzed: GatewayProcess) -> None:
    await asyncio.to_thread(wait_ready, fuzzed.url)
    outcomes = await asyncio.to_thread(run_body_fuzz, fuzzed.url)
    print(f"\nbodies: {dict(outcomes.seen.most_common())}")
    assert outcomes.total >= BODIES_EXAMPLES
    assert not outcomes.failures, outcomes.report()
    assert not fuzzed.log_problems(), log_report(fuzzed)


def test_the_scalars_cover_the_schema() -> None:
    """A new custom scalar needs a strategy here, or hypothesis-graphql skips the fields that take it."""
    builtin = {"ID", "String", "Int", "Float", "Boolean"}
    custom = {n for n, t in SCHEMA.type_map.items() if type(t).__name__ == "GraphQLScalarType"} - builtin
    assert custom <= set(SCALARS), custom - set(SCALARS)
