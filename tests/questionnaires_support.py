"""What the questionnaire tests share: planner tokens, GraphQL documents and a questionnaire to publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from tests.access_support import SECRET, ask
from tests.conftest import Gateway

SERVICES = ["SQ-001", "MZ-005", "WJ-001", "GY-001", "ZY-001", "NY-002"]
URBAN_TOWN = "陆家嘴街道"  # a subdistrict: urban
MIXED_TOWN = "川沙新镇"  # villages (rural) and residential areas (urban)
URBAN_STATION = "ZD-0001"  # Lujiazui's centre: offers GY-001 and SQ-001 of SERVICES
VILLAGE_STATION = "ZD-0387"  # 川沙新镇建湾村: rural; offers SQ-001
RESIDENTIAL_STATION = "ZD-0384"  # 川沙新镇联光居民区: urban; offers MZ-005, WJ-001, ZY-001 of SERVICES

PUBLISH = """mutation($in: PublishQuestionnaireInput!) {
  publishQuestionnaire(input: $in) { id title titleEn towns stationIds opensAt closesAt
    questions { index kind text textEn serviceIds maxChoices } } }"""
CLOSE = "mutation($id: ID!) { closeQuestionnaire(id: $id) { id closesAt } }"
ANSWER = """mutation($in: AnswerQuestionnaireInput!) {
  answerQuestionnaire(input: $in) { questionnaireId stationId channel answeredAt revision } }"""
OPEN = """query($st: ID, $town: String) { questionnaires(stationId: $st, town: $town) { id title } }"""
RESULTS = """query($id: ID!) { questionnaireResults(id: $id) {
  closed answers minGroupSize csv freeTexts { question texts }
  groups { dimension key suppressed answers
    demand { question serviceId named points meanRank position }
    ratings { question count mean } missingServices { serviceId named } } } }"""


def planner_token(subject: str = "planner-1") -> str:
    return mint(SECRET, subject, Role.PLANNER, channel=ClientChannel.UNKNOWN)


def draft(
    towns: list[str] | None = None, stations: list[str] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "title": "您最需要哪些服务？",
        "titleEn": "Which services do you need most?",
        "questions": [
            {
                "kind": "RANK_SERVICES",
                "text": "请按需要排序",
                "textEn": "Rank by need",
                "serviceIds": SERVICES,
                "maxChoices": 3,
            },
            {"kind": "CHOOSE_SERVICES", "text": "选择服务", "textEn": "Choose", "serviceIds": SERVICES},
            {"kind": "RATE_STATION", "text": "评价服务站", "textEn": "Rate the station"},
            {"kind": "FREE_TEXT", "text": "其他建议", "textEn": "Anything else"},
        ],
        "towns": [URBAN_TOWN, MIXED_TOWN] if towns is None else towns,
        "stationIds": stations or [],
        "opensAt": (now - timedelta(minutes=1)).isoformat(),
        "closesAt": (now + timedelta(days=7)).isoformat(),
    }


async def publish(gateway: Gateway, values: dict[str, Any] | None = None) -> str:
    body = await ask(gateway, planner_token(), PUBLISH, **{"in": values or draft()})
    assert not body.get("errors"), body
    return str(body["data"]["publishQuestionnaire"]["id"])


def answer_values(
    questionnaire: str,
    station: str | None,
    ranked: list[str],
    rating: int = 4,
    text: str | None = None,
    resident: str | None = None,
) -> dict[str, Any]:
    answers: list[dict[str, Any]] = [
        {"question": 0, "serviceIds": ranked},
        {"question": 1, "serviceIds": ranked[:1]},
        {"question": 2, "rating": rating},
    ]
    if text is not None:
        answers.append({"question": 3, "text": text})
    values: dict[str, Any] = {"questionnaireId": questionnaire, "answers": answers}
    if station is not None:
        values["stationId"] = station
    if resident is not None:
        values["residentId"] = resident
    return values


def groups(body: dict[str, Any], dimension: str) -> dict[str, dict[str, Any]]:
    found = body["data"]["questionnaireResults"]["groups"]
    return {g["key"]: g for g in found if g["dimension"] == dimension}


def ranking(group: dict[str, Any], question: int = 0) -> list[str]:
    return [
        d["serviceId"]
        for d in sorted(group["demand"], key=lambda d: d["position"])
        if d["question"] == question
    ]
