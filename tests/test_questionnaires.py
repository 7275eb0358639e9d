"""Questionnaires over HTTP on both stores: a planner publishes, residents answer (once each, editable
until it closes), staff enter paper answers only inside a consented session, results after closing
with small groups hidden, planners only; free text never in logs, the access log or error messages."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from observability.logging import configure_logging
from store.access import AccessLogRow
from store.questionnaires import AnswerItemRow, AnswerRow
from tests.access_support import (
    ask,
    codes,
    consent,
    fixture,
    my_id,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.appointments_support import operator_token, residents
from tests.conftest import Gateway, GatewayFactory
from tests.questionnaires_support import (
    ANSWER,
    CLOSE,
    OPEN,
    PUBLISH,
    RESULTS,
    URBAN_STATION,
    URBAN_TOWN,
    VILLAGE_STATION,
    answer_values,
    draft,
    groups,
    planner_token,
    publish,
    ranking,
)


class Clock:
    """The questionnaire service's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _gateway(make_gateway: GatewayFactory, database_url: str) -> tuple[Gateway, Clock]:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    clock = Clock()
    gateway.services.questionnaires.clock = clock
    return gateway, clock


async def _answer(gateway: Gateway, token: str, values: dict[str, Any]) -> dict[str, Any]:
    return await ask(gateway, token, ANSWER, **{"in": values})


async def test_planner_publishes_residents_answer_and_results_rank_by_town(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway, clock = await _gateway(make_gateway, database_url)
    qid = await publish(gateway, draft(now=clock.now))
    listed = await ask(gateway, None, OPEN, st=VILLAGE_STATION)
    assert [q["id"] for q in listed["data"]["questionnaires"]] == [qid]
    assert (await ask(gateway, None, OPEN, st="ZD-1300"))["data"]["questionnaires"] == []  # another town
    people = residents(14)
    for n, person in enumerate(people[:8]):  # urban: SQ-001 first
        body = await _answer(
            gateway,
            resident_token(person),
            answer_values(qid, URBAN_STATION, ["SQ-001", "MZ-005"], rating=5 - n % 2),
        )
        assert not body.get("errors"), body
        assert body["data"]["answerQuestionnaire"]["channel"] == "app"
    for person in people[8:]:  # village: NY-002 first
        body = await _answer(
            gateway,
            resident_token(person),
            answer_values(qid, VILLAGE_STATION, ["NY-002", "SQ-001", "WJ-001"], rating=3),
        )
        assert not body.get("errors"), body
    open_results = await ask(gateway, planner_token(), RESULTS, id=qid)
    assert open_results["data"]["questionnaireResults"]["closed"] is False
    assert open_results["data"]["questionnaireResults"]["answers"] == 14
    assert open_results["data"]["questionnaireResults"]["groups"] == []  # nothing to subtract between looks
    clock.now += timedelta(days=8)
    body = await ask(gateway, planner_token(), RESULTS, id=qid)
    assert not body.get("errors"), body
    towns = groups(body, "TOWN")
    assert ranking(towns[URBAN_TOWN]) == ["SQ-001", "MZ-005"]
    assert ranking(towns["川沙新镇"]) == ["NY-002", "SQ-001", "WJ-001"]
    first = towns["川沙新镇"]["demand"][0]
    assert (first["named"], first["points"], first["meanRank"]) == (6, 18, 1.0)  # Borda: 6 x (3 - 1 + 1)
    assert groups(body, "DISTRICT")["all"]["answers"] == 14
    stations = groups(body, "STATION")
    assert stations[URBAN_STATION]["ratings"] == [{"question": 2, "count": 8, "mean": 4.5}]
    gap = [g["serviceId"] for g in stations[URBAN_STATION]["missingServices"]]
    assert gap == ["MZ-005"]  # ZD-0001 offers SQ-001, not MZ-005
    assert {k: g["answers"] for k, g in groups(body, "AREA").items()} == {"URBAN": 8, "RURAL": 6}
    assert all(
        g["answers"] is None or g["answers"] >= 5 for g in body["data"]["questionnaireResults"]["groups"]
    )
    csv = body["data"]["questionnaireResults"]["csv"]
    assert (
        csv.startswith("dimension,group,suppressed,answers")
        and "TOWN,陆家嘴街道,,8,0,RANK_SERVICES,SQ-001" in csv
    )


async def test_a_second_answer_replaces_the_first(make_gateway: GatewayFactory, database_url: str) -> None:
    gateway, clock = await _gateway(make_gateway, database_url)
    qid = await publish(gateway, draft(now=clock.now))
    token = resident_token(residents(1)[0])
    lines = "第一次\n两行"  # line breaks are allowed in free text
    first = await _answer(gateway, token, answer_values(qid, URBAN_STATION, ["SQ-001"], text=lines))
    second = await _answer(gateway, token, answer_values(qid, VILLAGE_STATION, ["WJ-001", "GY-001"]))
    assert first["data"]["answerQuestionnaire"]["revision"] == 1
    assert second["data"]["answerQuestionnaire"]["revision"] == 2
    async with gateway.services.sessions() as session:
        answers = (await session.scalars(select(AnswerRow).where(AnswerRow.questionnaire_id == qid))).all()
        items = (
            await session.scalars(select(AnswerItemRow).where(AnswerItemRow.questionnaire_id == qid))
        ).all()
    assert [(a.station_id, a.area) for a in answers] == [(VILLAGE_STATION, "RURAL")]
    assert sorted((i.question, i.service_id, i.rank) for i in items if i.service_id) == [
        (0, "GY-001", 2),
        (0, "WJ-001", 1),
        (1, "WJ-001", None),
    ]
    assert not [i for i in items if i.text]  # the first answer's free text went with it
    assert all(len(a.resident_digest) == 32 and a.resident_digest.isalnum() for a in answers)  # a digest
    clock.now += timedelta(days=8)
    late = await _answer(gateway, token, answer_values(qid, URBAN_STATION, ["SQ-001"]))
    assert codes(late) == ["QUESTIONNAIRE_CLOSED"]


async def test_staff_enter_paper_answers_only_inside_a_consented_session(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway, clock = await _gateway(make_gateway, database_url)
    qid = await publish(gateway, draft(now=clock.now))
    villager = fixture("veteran")
    handle = await my_id(gateway, resident_token(villager))
    staff = staff_token("staff-q-1", VILLAGE_STATION)
    values = answer_values(qid, None, ["NY-002"], resident=handle)
    assert codes(await _answer(gateway, staff, values)) == ["CONSENT_REQUIRED"]
    wrong = await start_session(gateway, staff, villager, ["PROFILE"])
    assert not (await consent(gateway, resident_token(villager), wrong["id"])).get("errors")
    assert codes(await _answer(gateway, staff, values)) == ["CONSENT_REQUIRED"]
    session = await start_session(
        gateway, staff_token("staff-q-2", VILLAGE_STATION), villager, ["QUESTIONNAIRES"]
    )
    assert not (await consent(gateway, resident_token(villager), session["id"])).get("errors")
    staff = staff_token("staff-q-2", VILLAGE_STATION)
    elsewhere = await _answer(gateway, staff, answer_values(qid, URBAN_STATION, ["NY-002"], resident=handle))
    assert codes(elsewhere) == ["BAD_USER_INPUT"]  # staff enter answers for their own station
    body = await _answer(gateway, staff, values)
    assert not body.get("errors"), body
    receipt = body["data"]["answerQuestionnaire"]
    assert (receipt["stationId"], receipt["channel"]) == (VILLAGE_STATION, "counter")
    # the villager answering later in the app replaces the paper answer: still one
    again = await _answer(gateway, resident_token(villager), answer_values(qid, VILLAGE_STATION, ["SQ-001"]))
    assert again["data"]["answerQuestionnaire"]["revision"] == 2
    async with gateway.services.sessions() as db:
        rows = (
            await db.scalars(select(AccessLogRow).where(AccessLogRow.data == "questionnaireAnswer"))
        ).all()
    assert {(r.actor_role, r.purpose, r.session_id is not None) for r in rows} == {
        ("staff", "QUESTIONNAIRES", True),
        ("resident", "QUESTIONNAIRES", False),
    }


@pytest.mark.parametrize("who", ["anonymous", "resident", "staff", "operator"])
async def test_only_planners_publish_close_and_read_results(make_gateway: GatewayFactory, who: str) -> None:
    gateway = await resident_gateway(make_gateway)
    qid = await publish(gateway)
    token = {
        "anonymous": None,
        "resident": resident_token(residents(1)[0]),
        "staff": staff_token("staff-x", URBAN_STATION),
        "operator": operator_token(),
    }[who]
    want = ["UNAUTHENTICATED"] if token is None else ["FORBIDDEN"]
    for document, variables in ((RESULTS, {"id": qid}), (CLOSE, {"id": qid}), (PUBLISH, {"in": draft()})):
        body = await ask(gateway, token, document, **variables)
        assert codes(body) == want and body["data"] is None, body


async def test_planners_answer_nothing_and_read_no_personal_data(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    qid = await publish(gateway)
    assert codes(await _answer(gateway, planner_token(), answer_values(qid, URBAN_STATION, ["SQ-001"]))) == [
        "FORBIDDEN"
    ]
    assert codes(await ask(gateway, planner_token(), "{ me { id } }")) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        (
            {
                "questions": [
                    {"kind": "CHOOSE_SERVICES", "text": "x", "textEn": "x", "serviceIds": ["NO-SUCH"]}
                ]
            },
            "questions[0].serviceIds",
        ),
        (
            {
                "questions": [
                    {
                        "kind": "RANK_SERVICES",
                        "text": "x",
                        "textEn": "x",
                        "serviceIds": ["SQ-001"],
                        "maxChoices": 2,
                    }
                ]
            },
            "questions[0].maxChoices",
        ),
        ({"questions": [{"kind": "FREE_TEXT", "text": " ", "textEn": "x"}]}, "questions[0].text"),
        ({"towns": ["没有这个镇"]}, "towns"),
        ({"towns": [], "stationIds": ["ZD-9999"]}, "stationIds"),
        ({"towns": [], "stationIds": []}, "towns"),
        ({"closesAt": "2020-01-01T00:00:00+08:00"}, "closesAt"),
        ({"opensAt": "9999-12-01T00:00:00+08:00", "closesAt": "9999-12-31T23:59:59-08:00"}, "opensAt"),
        ({"opensAt": "0001-01-01T00:00:00+08:00"}, "closesAt"),
    ],
)
async def test_a_bad_questionnaire_is_refused_by_argument(
    make_gateway: GatewayFactory, change: dict[str, Any], argument: str
) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await ask(gateway, planner_token(), PUBLISH, **{"in": draft() | change})
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["argument"] == argument


@pytest.mark.parametrize(
    "answers",
    [
        [{"question": 0, "serviceIds": ["SQ-001", "MZ-005", "WJ-001", "GY-001"]}],  # more than maxChoices
        [{"question": 0, "serviceIds": ["CL-001"]}],  # not an option
        [{"question": 2, "rating": 6}],
        [{"question": 3, "text": ""}],
        [{"question": 9, "rating": 3}],
        [{"question": 2, "rating": 3}, {"question": 2, "rating": 4}],
        [],
    ],
)
async def test_a_bad_answer_is_refused_and_nothing_is_kept(
    make_gateway: GatewayFactory, answers: list[dict[str, Any]]
) -> None:
    gateway = await resident_gateway(make_gateway)
    qid = await publish(gateway)
    values = {"questionnaireId": qid, "stationId": URBAN_STATION, "answers": answers}
    assert codes(await _answer(gateway, resident_token(residents(1)[0]), values)) == ["BAD_USER_INPUT"]
    assert await gateway.services.questionnaires.answers_count(qid) == 0


async def test_answers_only_while_open_and_for_targeted_stations(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    clock = Clock()
    gateway.services.questionnaires.clock = clock
    later = draft(now=clock.now + timedelta(days=1), towns=[], stations=[URBAN_STATION])
    qid = await publish(gateway, later)
    token = resident_token(residents(1)[0])
    assert codes(await _answer(gateway, token, answer_values(qid, URBAN_STATION, ["SQ-001"]))) == [
        "QUESTIONNAIRE_NOT_OPEN"
    ]
    assert (await ask(gateway, None, OPEN, st=URBAN_STATION))["data"]["questionnaires"] == []
    clock.now += timedelta(days=1)
    assert codes(await _answer(gateway, token, answer_values(qid, "ZD-0002", ["SQ-001"]))) == [
        "STATION_NOT_TARGETED"
    ]
    assert not (await _answer(gateway, token, answer_values(qid, URBAN_STATION, ["SQ-001"]))).get("errors")
    closed = await ask(gateway, planner_token(), CLOSE, id=qid)
    assert not closed.get("errors"), closed
    assert codes(await _answer(gateway, token, answer_values(qid, URBAN_STATION, ["SQ-001"]))) == [
        "QUESTIONNAIRE_CLOSED"
    ]
    assert codes(
        await _answer(
            gateway,
            token,
            {
                "questionnaireId": "nope",
                "stationId": URBAN_STATION,
                "answers": [{"question": 2, "rating": 1}],
            },
        )
    ) == ["NOT_FOUND"]


async def test_free_text_is_never_logged(
    make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The words are stored and shown to planners only unlinked (5 or more); never in a log line (at
    the gateway's most talkative level), the access log or an error message, also when refused."""
    secret_words = "我家住在三号楼的独居老人张某需要送餐"
    gateway = await resident_gateway(make_gateway)
    clock = Clock()
    gateway.services.questionnaires.clock = clock
    qid = await publish(gateway, draft(now=clock.now))
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("DEBUG", "json", stream)
    try:
        messages = await _answer_and_refuse(gateway, qid, secret_words)
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    clock.now += timedelta(days=8)
    results = await ask(gateway, planner_token(), RESULTS, id=qid)
    texts = results["data"]["questionnaireResults"]["freeTexts"]
    assert texts == [{"question": 3, "texts": sorted([secret_words, *[f"意见{n}" for n in range(1, 6)]])}]
    assert secret_words not in results["data"]["questionnaireResults"]["csv"]
    async with gateway.services.sessions() as session:
        rows = (await session.scalars(select(AccessLogRow))).all()
    logs = [r.getMessage() for r in caplog.records] + stream.getvalue().splitlines()
    assert rows and len(logs) > 10, logs
    leaked = [line for line in [str(vars(r)) for r in rows] + logs + messages if secret_words[:6] in line]
    assert not leaked


async def _answer_and_refuse(gateway: Gateway, qid: str, secret_words: str) -> list[str]:
    """Six answers (one with the words), then refused ones carrying them: the refusals' messages."""
    for n, person in enumerate(residents(6)):
        text = secret_words if n == 0 else f"意见{n}"
        values = answer_values(qid, URBAN_STATION, ["SQ-001"], text=text)
        body = await _answer(gateway, resident_token(person), values)
        assert not body.get("errors"), body
    refused = [
        answer_values(qid, URBAN_STATION, ["SQ-001"], text=secret_words * 100),  # too long
        answer_values(qid, "ZD-9999", ["SQ-001"], text=secret_words),  # no such station
        answer_values(qid, URBAN_STATION, ["SQ-001"], text=secret_words + "\x00"),  # a NUL: refused
        {
            "questionnaireId": qid,
            "stationId": URBAN_STATION,
            "answers": [{"question": 2, "text": secret_words}],
        },
    ]
    messages: list[str] = []
    for values in refused:
        body = await _answer(gateway, resident_token(residents(1)[0]), values)
        assert body.get("errors"), body
        messages += [str(e) for e in body["errors"]]
    return messages


async def test_the_store_itself_refuses_a_second_answer_row(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    """The one-answer rule is the database's (a unique constraint), not only the upsert's habit."""
    gateway, clock = await _gateway(make_gateway, database_url)
    qid = await publish(gateway, draft(now=clock.now))
    row = {
        "questionnaire_id": qid,
        "resident_digest": "0" * 32,
        "station_id": URBAN_STATION,
        "town": URBAN_TOWN,
        "area": "URBAN",
        "channel": "app",
        "entered_by": "0" * 32,
        "answered_at": clock.now,
        "revision": 1,
    }
    async with gateway.services.sessions() as session:
        await session.execute(insert(AnswerRow), [row])
        await session.commit()
        with pytest.raises(IntegrityError):
            await session.execute(insert(AnswerRow), [row])
