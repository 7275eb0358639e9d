"""Service-demand questionnaires: planners publish and read results; residents (or staff for a villager,
in an assisted session) answer. Thin: the rules are in ``resolvers.questionnaires``,
``resolvers.questionnaire_results`` and ``store.questionnaire_book``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from access.policy import Acting, Purpose
from domain import questionnaires as records
from domain.records import StationRecord
from resolvers import disclosure
from resolvers import questionnaire_results as results_logic
from resolvers import questionnaires as logic
from resolvers.errors import InputError
from schema.context import Info, path_of
from schema.described import described_enum
from store.questionnaire_book import QuestionnaireBook

ACCESS_DATA = "questionnaireAnswer"

described_enum(
    records.QuestionKind,
    "问题类型 / Kind of question.",
    {
        "CHOOSE_SERVICES": "选择服务 / Choose up to maxChoices of the listed services",
        "RANK_SERVICES": "服务排序 / Rank up to maxChoices of the listed services, most wanted first",
        "RATE_STATION": "评价服务站 / Rate the station the answer is given for, 1 to 5",
        "FREE_TEXT": "自由填写 / Free text",
    },
    name="QuestionKind",
)
described_enum(
    results_logic.Dimension,
    "结果分组 / How answers are grouped in results.",
    {
        "DISTRICT": "全区 / All answers",
        "TOWN": "街镇 / By town or subdistrict",
        "STATION": "服务站 / By station",
        "AREA": "城乡 / Urban or rural",
    },
    name="ResultDimension",
)
described_enum(
    disclosure.Suppression,
    "不予显示原因 / Why a group of results is not shown.",
    {
        "SMALL_GROUP": "样本过小 / Fewer than 5 answers",
        "COMPLEMENTARY": "防止推算 / Hidden so that a small group cannot be worked out by subtraction",
    },
    name="Suppression",
)


@strawberry.type(description="One question of a questionnaire.")
class QuestionnaireQuestion:
    index: int = strawberry.field(description="Its position, 0 first: what an answer names")
    kind: records.QuestionKind = strawberry.field(description="问题类型 / Kind of question")
    text: str = strawberry.field(description="问题 / The question")
    text_en: str = strawberry.field(description="The question in English")
    service_ids: list[strawberry.ID] = strawberry.field(
        description="可选服务 / The services to choose or rank"
    )
    max_choices: int = strawberry.field(description="最多选择 / At most this many chosen or ranked (0: none)")


@strawberry.type(description="A planner's questionnaire about the services residents want.")
class Questionnaire:
    id: strawberry.ID = strawberry.field(description="Questionnaire id")
    title: str = strawberry.field(description="标题 / Title")
    title_en: str = strawberry.field(description="Title in English")
    questions: list[QuestionnaireQuestion] = strawberry.field(description="问题 / The questions")
    towns: list[str] = strawberry.field(description="面向街镇 / The towns it is for")
    station_ids: list[strawberry.ID] = strawberry.field(description="面向服务站 / The stations it is for")
    opens_at: datetime = strawberry.field(description="开始 / Opens")
    closes_at: datetime = strawberry.field(description="截止 / Closes")

    @classmethod
    def of(cls, q: records.Questionnaire) -> Questionnaire:
        return cls(
            id=strawberry.ID(q.id),
            title=q.title,
            title_en=q.title_en,
            questions=[
                QuestionnaireQuestion(
                    index=i,
                    kind=x.kind,
                    text=x.text,
                    text_en=x.text_en,
                    service_ids=[strawberry.ID(s) for s in x.service_ids],
                    max_choices=x.max_choices,
                )
                for i, x in enumerate(q.questions)
            ],
            towns=list(q.towns),
            station_ids=[strawberry.ID(s) for s in q.station_ids],
            opens_at=q.opens_at,
            closes_at=q.closes_at,
        )


@strawberry.type(description="A resident's answer as stored (never its content, never the resident).")
class QuestionnaireAnswerReceipt:
    questionnaire_id: strawberry.ID = strawberry.field(description="The questionnaire")
    station_id: strawberry.ID = strawberry.field(description="The station the answer counts for")
    channel: str = strawberry.field(description="Where it was given: app, wechat, kiosk, counter")
    answered_at: datetime = strawberry.field(description="When")
    revision: int = strawberry.field(description="1 for a first answer; more when it replaced an earlier one")


@strawberry.type(description="How much one group of answers wants one service, for one question.")
class ServiceDemand:
    question: int = strawberry.field(description="The question's index")
    service_id: strawberry.ID = strawberry.field(description="The service's catalogue code")
    named: int = strawberry.field(description="Answers that chose or ranked it")
    points: int = strawberry.field(description="Borda points (ranked questions) or times chosen")
    mean_rank: float | None = strawberry.field(description="Mean rank among answers that ranked it")
    position: int = strawberry.field(description="名次 / 1 = most wanted in this group")


@strawberry.type(description="The mean rating a group of answers gave their stations, for one question.")
class StationRating:
    question: int = strawberry.field(description="The question's index")
    count: int = strawberry.field(description="Ratings given")
    mean: float = strawberry.field(description="平均分 / Mean, 1 to 5")


@strawberry.type(description="A service residents asked for that the station (or the town) does not offer.")
class ServiceGap:
    service_id: strawberry.ID = strawberry.field(description="The service's catalogue code")
    named: int = strawberry.field(description="How often this group's answers asked for it")


@strawberry.type(description="One group of answers; all null but its key when suppressed.")
class ResultGroup:
    dimension: results_logic.Dimension = strawberry.field(description="How the group is formed")
    key: str = strawberry.field(description="all, the town, the station id, URBAN or RURAL")
    suppressed: disclosure.Suppression | None = strawberry.field(
        description="Why it is not shown; null when shown"
    )
    answers: int | None = strawberry.field(description="答卷数 / Answers; null when suppressed")
    demand: list[ServiceDemand] | None = strawberry.field(
        description="需求排名 / Ranked services, per question; null when suppressed"
    )
    ratings: list[StationRating] | None = strawberry.field(description="评分 / Ratings; null when suppressed")
    missing_services: list[ServiceGap] | None = strawberry.field(
        description="供需缺口 / Asked for but not offered at this station (town: at none of its stations)"
    )

    @classmethod
    def of(cls, g: results_logic.Group) -> ResultGroup:
        shown = g.suppressed is None
        return cls(
            dimension=g.dimension,
            key=g.key,
            suppressed=g.suppressed,
            answers=g.answers,
            demand=[
                ServiceDemand(
                    question=d.question,
                    service_id=strawberry.ID(d.service_id),
                    named=d.named,
                    points=d.points,
                    mean_rank=d.mean_rank,
                    position=d.position,
                )
                for d in g.demand
            ]
            if shown
            else None,
            ratings=[StationRating(question=r.question, count=r.count, mean=r.mean) for r in g.ratings]
            if shown
            else None,
            missing_services=[
                ServiceGap(service_id=strawberry.ID(m.service_id), named=m.named) for m in g.missing
            ]
            if shown
            else None,
        )


@strawberry.type(description="The free texts of one question, for the whole district (5 or more), unlinked.")
class FreeTexts:
    question: int = strawberry.field(description="The question's index")
    texts: list[str] = strawberry.field(description="The texts, in text order")


@strawberry.type(description="A questionnaire's results, for planners. Groups only once it has closed.")
class QuestionnaireResults:
    questionnaire: Questionnaire = strawberry.field(description="The questionnaire")
    closed: bool = strawberry.field(description="Closed: groups are given only then")
    answers: int | None = strawberry.field(description="答卷总数 / All answers; null when fewer than 5")
    min_group_size: int = strawberry.field(description="Groups with fewer answers are never shown")
    free_texts: list[FreeTexts] = strawberry.field(description="自由填写 / Free texts, district-wide")
    found: strawberry.Private[results_logic.Results]

    @strawberry.field(description="By district, town, station and area (or only `dimension`)")
    def groups(
        self,
        dimension: Annotated[
            results_logic.Dimension | None, strawberry.argument(description="only this grouping")
        ] = None,
    ) -> list[ResultGroup]:
        return [ResultGroup.of(g) for g in self.found.groups if dimension in (None, g.dimension)]

    @strawberry.field(description="The groups as CSV (cells that look like formulas escaped)")
    def csv(self) -> str:
        return results_logic.to_csv(self.found)

    @classmethod
    def of(cls, r: results_logic.Results) -> QuestionnaireResults:
        return cls(
            questionnaire=Questionnaire.of(r.questionnaire),
            closed=r.closed,
            answers=r.answers,
            min_group_size=disclosure.MIN_GROUP,
            free_texts=[FreeTexts(question=q, texts=list(t)) for q, t in sorted(r.texts.items())],
            found=r,
        )


@strawberry.input(description="One question of a new questionnaire.")
class QuestionInput:
    kind: records.QuestionKind = strawberry.field(description="问题类型 / Kind of question")
    text: str = strawberry.field(description="问题 / The question")
    text_en: str = strawberry.field(description="The question in English")
    service_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Service questions: the catalogue codes to choose or rank from"
    )
    max_choices: int = strawberry.field(
        default=0, description="Service questions: at most this many (0: all)"
    )


@strawberry.input(description="A new questionnaire, for some towns and/or stations.")
class PublishQuestionnaireInput:
    title: str = strawberry.field(description="标题 / Title")
    title_en: str = strawberry.field(description="Title in English")
    questions: list[QuestionInput] = strawberry.field(description="问题 / 1 to 20 questions")
    towns: list[str] = strawberry.field(default_factory=list, description="The towns it is for")
    station_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="The stations")
    opens_at: datetime = strawberry.field(description="开始 / Opens")
    closes_at: datetime = strawberry.field(description="截止 / Closes")


@strawberry.input(description="The answer to one question (which fields apply depends on its kind).")
class QuestionAnswerInput:
    question: int = strawberry.field(description="The question's index")
    service_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Service questions: chosen, or ranked most wanted first"
    )
    rating: int | None = strawberry.field(default=None, description="RATE_STATION: 1 to 5")
    text: str | None = strawberry.field(
        default=None, description="FREE_TEXT: the words (stored, never logged)"
    )


@strawberry.input(description="A resident's answer; a second one replaces the first until it closes.")
class AnswerQuestionnaireInput:
    questionnaire_id: strawberry.ID = strawberry.field(description="The questionnaire")
    station_id: strawberry.ID | None = strawberry.field(
        default=None, description="The station the answer counts for (staff: their own, the default)"
    )
    answers: list[QuestionAnswerInput] = strawberry.field(description="Answers to some or all questions")
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="staff in an assisted session: the villager's `Resident.id`"
    )


def questionnaires_of(info: Info) -> QuestionnaireBook:
    """The one way resolvers reach the questionnaire service (``Services.questionnaires``)."""
    return info.context.services.questionnaires


async def _station(info: Info, station_id: str) -> StationRecord:
    station = (await info.context.loaders.station_index(path_of(info))).get(station_id)
    if station is None:
        raise InputError("stationId", "no such station (or the stations' department did not answer)")
    return station


def _station_id(acting: Acting, given: strawberry.ID | None) -> str:
    """A resident names the station; staff enter answers for their own."""
    if acting.on_own_behalf:
        if given is None:
            raise InputError("stationId", "the station the answer is for")
        return str(given)
    own = str(acting.principal.station)
    if given is not None and str(given) != own:
        raise InputError("stationId", "staff enter answers for their own station")
    return own


@strawberry.type
class Query:
    @strawberry.field(
        description="Open questionnaires a resident at a station (or of a town) may answer, newest first."
    )
    async def questionnaires(
        self,
        info: Info,
        station_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the station, e.g. ZD-0001")
        ] = None,
        town: Annotated[str | None, strawberry.argument(description="a town, e.g. 川沙新镇")] = None,
    ) -> list[Questionnaire]:
        if (station_id is None) == (town is None):
            raise InputError("stationId", "give a station or a town")
        station = None if station_id is None else await _station(info, str(station_id))
        found = await questionnaires_of(info).open_for(station, town)
        return [Questionnaire.of(q) for q in found]

    @strawberry.field(description="Planners: a questionnaire's results (groups once it has closed).")
    async def questionnaire_results(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="the questionnaire")]
    ) -> QuestionnaireResults:
        logic.require_planner(info.context.principal)
        book = questionnaires_of(info)
        questionnaire = await book.get(str(id))
        if book.clock() < questionnaire.closes_at:
            found = results_logic.open_results(questionnaire, await book.answers_count(questionnaire.id))
        else:
            stations = await info.context.loaders.all_stations(path_of(info))
            found = results_logic.results(questionnaire, await book.tallies(questionnaire.id), stations)
        return QuestionnaireResults.of(found)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Planners: publish a questionnaire (services from the catalogue, towns and stations "
        "from the stations data; BAD_USER_INPUT names what is wrong)."
    )
    async def publish_questionnaire(
        self,
        info: Info,
        input: Annotated[PublishQuestionnaireInput, strawberry.argument(description="the questionnaire")],
    ) -> Questionnaire:
        planner = logic.require_planner(info.context.principal)
        book = questionnaires_of(info)
        draft = records.Draft(
            input.title,
            input.title_en,
            tuple(
                records.Question(
                    q.kind, q.text, q.text_en, tuple(str(s) for s in q.service_ids), q.max_choices
                )
                for q in input.questions
            ),
            tuple(input.towns),
            tuple(str(s) for s in input.station_ids),
            input.opens_at,
            input.closes_at,
        )
        catalogue = await info.context.loaders.service_index(path_of(info))
        stations = await info.context.loaders.all_stations(path_of(info))
        checked = logic.check_draft(draft, catalogue, stations, book.clock())
        published = await book.publish(checked, info.context.services.digester.of(planner.subject))
        return Questionnaire.of(published)

    @strawberry.mutation(
        description="Planners: close a questionnaire now (answers are refused from then on)."
    )
    async def close_questionnaire(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="the questionnaire")]
    ) -> Questionnaire:
        logic.require_planner(info.context.principal)
        return Questionnaire.of(await questionnaires_of(info).close(str(id)))

    @strawberry.mutation(
        description="Answer a questionnaire (one answer per resident: a second replaces the first until "
        "it closes). Staff enter a villager's paper answers with `residentId` in an assisted session "
        "covering QUESTIONNAIRES. QUESTIONNAIRE_CLOSED, QUESTIONNAIRE_NOT_OPEN, STATION_NOT_TARGETED, "
        "NOT_FOUND."
    )
    async def answer_questionnaire(
        self,
        info: Info,
        input: Annotated[AnswerQuestionnaireInput, strawberry.argument(description="the answer")],
    ) -> QuestionnaireAnswerReceipt:
        acting = await info.context.acting_for(input.resident_id, Purpose.QUESTIONNAIRES)
        book = questionnaires_of(info)
        questionnaire = await book.get(str(input.questionnaire_id))
        given = [
            logic.GivenAnswer(a.question, tuple(str(s) for s in a.service_ids), a.rating, a.text)
            for a in input.answers
        ]
        items = logic.items_of(questionnaire, given)
        station = await _station(info, _station_id(acting, input.station_id))
        answerer = records.Answerer(
            acting.resident_digest, acting.actor_digest, acting.session_id, info.context.channel.value
        )
        receipt = await book.answer(questionnaire, station, answerer, items)
        await info.context.record_access(acting, ACCESS_DATA, None)
        return QuestionnaireAnswerReceipt(
            questionnaire_id=strawberry.ID(receipt.questionnaire_id),
            station_id=strawberry.ID(receipt.station_id),
            channel=receipt.channel,
            answered_at=receipt.answered_at,
            revision=receipt.revision,
        )
