"""Trusted documents: channels locked to their manifest; documents by hash (APQ and documentId)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from schema.persisted import Manifests, sha256_hex
from tests.conftest import Gateway, GatewayFactory

GRAPHQL_RESPONSE = "application/graphql-response+json"
SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
KIOSK_QUERY = "query KioskHome { departments { id } }"
APP_QUERY = "query AppCatalogue { services(first: 2) { totalCount } }"
RAW = "{ departments { id name } }"


def apq(digest: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    directory = tmp_path / "persisted"
    directory.mkdir()
    (directory / "kiosk.json").write_text(json.dumps({sha256_hex(KIOSK_QUERY): KIOSK_QUERY}))
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256_hex(APP_QUERY), "name": "AppCatalogue", "type": "query", "body": APP_QUERY}
        ],
    }
    (directory / "app.json").write_text(json.dumps(apollo))
    return directory


@pytest.fixture
async def locked(make_gateway: GatewayFactory, manifests: Path) -> Gateway:
    return await make_gateway(persisted_dir=manifests, trusted_documents_kiosk=True, jwt_secret=SECRET)


async def send(
    gateway: Gateway, body: Any, channel: str, accept: str = GRAPHQL_RESPONSE, **headers: str
) -> httpx.Response:
    headers = {"x-onestop-channel": channel, "accept": accept, **headers}
    return await gateway.client.post("/graphql", json=body, headers=headers)


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_a_locked_channel_runs_its_documents_by_hash(locked: Gateway) -> None:
    response = await send(locked, apq(sha256_hex(KIOSK_QUERY)), "kiosk")
    assert response.status_code == 200 and len(response.json()["data"]["departments"]) > 0
    by_id = await send(locked, {"documentId": f"sha256:{sha256_hex(KIOSK_QUERY)}"}, "kiosk")
    assert by_id.status_code == 200 and by_id.json()["data"]["departments"]
    extensions = json.dumps(apq(sha256_hex(KIOSK_QUERY))["extensions"])
    got = await locked.client.get(
        "/graphql",
        params={"extensions": extensions},
        headers={"x-onestop-channel": "kiosk", "accept": GRAPHQL_RESPONSE},
    )
    assert got.status_code == 200 and got.json()["data"]["departments"]


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), ("application/json", 200)])
async def test_a_locked_channel_refuses_any_other_document(locked: Gateway, accept: str, status: int) -> None:
    raw = await send(locked, {"query": RAW}, "kiosk", accept)
    assert (raw.status_code, code_of(raw)) == (status, "PERSISTED_QUERY_REQUIRED")
    assert "data" not in raw.json()
    unknown = await send(locked, apq("ab" * 32), "kiosk", accept)
    assert (unknown.status_code, code_of(unknown)) == (status, "PERSISTED_QUERY_NOT_FOUND")
    # the text of a document that is in the manifest still needs its hash, and a wrong text is caught
    with_text = await send(locked, {"query": RAW, **apq(sha256_hex(RAW))}, "kiosk", accept)
    assert code_of(with_text) == "PERSISTED_QUERY_NOT_FOUND"
    lying = await send(locked, {"query": RAW, **apq(sha256_hex(KIOSK_QUERY))}, "kiosk", accept)
    assert code_of(lying) == "PERSISTED_QUERY_HASH_MISMATCH"
    not_hex = await send(locked, {"documentId": "'; DROP TABLE --"}, "kiosk", accept)
    assert code_of(not_hex) == "PERSISTED_QUERY_NOT_FOUND"


async def test_manifests_are_per_channel(locked: Gateway) -> None:
    response = await send(locked, apq(sha256_hex(APP_QUERY)), "kiosk")
    assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"
    response = await send(locked, apq(sha256_hex(APP_QUERY)), "app")
    assert response.status_code == 200 and response.json()["data"]["services"]["totalCount"] == 75


async def test_unlocked_channels_run_raw_queries_and_apq_retries(locked: Gateway) -> None:
    assert (await send(locked, {"query": RAW}, "app")).json()["data"]["departments"]
    miss = await send(locked, apq(sha256_hex(RAW)), "wechat")
    assert code_of(miss) == "PERSISTED_QUERY_NOT_FOUND"  # an APQ client then sends the text with the hash
    retry = await send(locked, {"query": RAW, **apq(sha256_hex(RAW))}, "wechat")
    assert retry.status_code == 200 and retry.json()["data"]["departments"]


async def test_the_token_channel_is_the_one_locked(locked: Gateway) -> None:
    token = mint(SECRET, "kiosk-17", Role.STAFF, channel=ClientChannel.KIOSK, station="PD-001")
    # a kiosk's token cannot escape its lock by claiming another channel in the header
    response = await send(locked, {"query": RAW}, "app", authorization=f"Bearer {token}")
    assert code_of(response) == "PERSISTED_QUERY_REQUIRED"


def test_manifests_whose_hashes_lie_stop_the_start(tmp_path: Path) -> None:
    (tmp_path / "app.json").write_text(json.dumps({sha256_hex("{ a }"): "{ b }"}))
    with pytest.raises(ValueError, match="does not hash"):
        Manifests.load(tmp_path)


def test_a_locked_channel_without_a_manifest_refuses_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifests = Manifests.load(tmp_path / "missing", ["wechat"])
    assert "no manifest" in caplog.text
    from schema.persisted import PersistedQueryError

    with pytest.raises(PersistedQueryError):
        manifests.resolve("wechat", RAW, None, None)
