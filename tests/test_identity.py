"""Bearer tokens: what is trusted, what is refused (typed 401, never a 500), and the channel."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.principal import ClientChannel, Principal, Role
from identity.tokens import TokenError, TokenSettings, TokenVerifier, mint
from tests.conftest import GatewayFactory

SECRET = "test-secret-of-at-least-32-bytes-long!"
ID_NUMBER = "310115195601011234"
QUERY = "{ departments { id } }"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_minted_token_verifies_into_its_principal() -> None:
    token = mint(SECRET, ID_NUMBER, Role.RESIDENT, channel=ClientChannel.WECHAT)
    principal = await TokenVerifier(TokenSettings(secret=SECRET)).verify(token)
    assert (principal.subject, principal.role, principal.channel) == (
        ID_NUMBER,
        Role.RESIDENT,
        ClientChannel.WECHAT,
    )


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint("another-secret-of-at-least-32-bytes!!", ID_NUMBER, Role.RESIDENT), id="forged"),
        pytest.param(mint(SECRET, ID_NUMBER, Role.RESIDENT, ttl_s=-120), id="expired"),
        pytest.param(
            _b64({"alg": "none", "typ": "JWT"})
            + "."
            + _b64({"sub": ID_NUMBER, "role": "operator", "exp": 2**40})
            + ".",
            id="alg-none",
        ),
        pytest.param(jwt.encode({"sub": ID_NUMBER, "role": "resident"}, SECRET, "HS256"), id="no-exp"),
        pytest.param(
            jwt.encode({"sub": "x", "role": "king", "exp": 2**40}, SECRET, "HS256"), id="unknown-role"
        ),
        pytest.param(
            jwt.encode({"sub": "x", "role": "staff", "exp": 2**40}, SECRET, "HS256"), id="staff-no-station"
        ),
        pytest.param("not.a.token", id="garbage"),
    ],
)
async def test_untrustworthy_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        await TokenVerifier(TokenSettings(secret=SECRET)).verify(token)


async def test_rs256_public_key_refuses_an_hs256_token_signed_with_that_key() -> None:
    """Algorithm confusion: the public key used as an HMAC secret must not verify."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = TokenVerifier(TokenSettings(public_key=public.decode()))
    good = jwt.encode({"sub": "op-1", "role": "operator", "exp": int(time.time()) + 60}, key, "RS256")
    assert (await verifier.verify(good)).role is Role.OPERATOR
    claims = {"sub": "op-1", "role": "operator", "exp": int(time.time()) + 60}
    header = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64(claims)
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public, header.encode(), hashlib.sha256).digest()).rstrip(
        b"="
    )
    with pytest.raises(TokenError):
        await verifier.verify(header + "." + signature.decode())


async def test_issuer_and_audience_are_checked_when_configured() -> None:
    verifier = TokenVerifier(
        TokenSettings(secret=SECRET, issuer="https://id.pudong.gov.cn", audience="onestop")
    )
    with pytest.raises(TokenError):
        await verifier.verify(mint(SECRET, ID_NUMBER, Role.RESIDENT))
    token = mint(SECRET, ID_NUMBER, Role.RESIDENT, issuer="https://id.pudong.gov.cn", audience="onestop")
    assert (await verifier.verify(token)).subject == ID_NUMBER


def test_a_principal_never_shows_its_subject() -> None:
    principal = Principal(ID_NUMBER, Role.RESIDENT)
    assert ID_NUMBER not in repr(principal) and ID_NUMBER not in str(principal)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + mint("another-secret-of-at-least-32-bytes!!", ID_NUMBER, Role.RESIDENT),
        "Bearer " + mint(SECRET, ID_NUMBER, Role.RESIDENT, ttl_s=-120),
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
    ids=["forged", "expired", "basic", "empty"],
)
async def test_the_gateway_answers_a_bad_token_with_a_typed_401(
    make_gateway: GatewayFactory, authorization: str
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    response = await gateway.client.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert ID_NUMBER not in response.text


async def test_a_gateway_without_keys_refuses_every_token(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    token = mint(SECRET, ID_NUMBER, Role.RESIDENT)
    response = await gateway.client.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_public_data_needs_no_token_and_an_unknown_channel_is_a_typed_400(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    response = await gateway.client.post(
        "/graphql", json={"query": QUERY}, headers={"X-Onestop-Channel": "kiosk"}
    )
    assert response.status_code == 200 and response.json()["data"]["departments"]
    response = await gateway.client.post(
        "/graphql", json={"query": QUERY}, headers={"X-Onestop-Channel": "fax"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
