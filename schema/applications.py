"""``submitApplication``: an application checked against its service, forwarded once, answered as a Case.

Thin: the rules are in ``resolvers.applications``. Who may submit for whom is the access policy's
(APPLICATIONS: the resident, or staff in an assisted session the resident consented to); the case
that comes back is personal data and is written to the resident's access log.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from access.policy import Purpose
from resolvers import applications as logic
from schema.cases import Case
from schema.context import Info, path_of
from store.submission_book import SubmissionBook


@strawberry.input(description="One question of the application form and the resident's answer.")
class ApplicationAnswerInput:
    name: str = strawberry.field(description="The question, as the service's form names it (e.g. 联系电话)")
    value: str = strawberry.field(description="The resident's answer")


@strawberry.input(description="An application to one service.")
class SubmitApplicationInput:
    service_id: strawberry.ID = strawberry.field(description="The catalogue code of the service, e.g. JY-001")
    idempotency_key: str = strawberry.field(
        description="8-64 letters, digits, '-' or '_', new for each application (a UUID). Sending the "
        "same application again with the same key answers the same case: retry freely."
    )
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="staff in an assisted session: the resident's `Resident.id`"
    )
    documents: list[str] = strawberry.field(
        default_factory=list, description="the documents provided, by the names the service lists"
    )
    answers: list[ApplicationAnswerInput] = strawberry.field(
        default_factory=list, description="answers to the service's form questions"
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Submit an application; the new case (status SUBMITTED). BAD_USER_INPUT lists every "
        "problem in `extensions.problems`; IDEMPOTENCY_KEY_REUSED, SUBMISSION_IN_PROGRESS; a "
        "department's failure is UPSTREAM_* and nothing is kept (retry with the same key)."
    )
    async def submit_application(
        self,
        info: Info,
        input: Annotated[SubmitApplicationInput, strawberry.argument(description="the application")],
    ) -> Case:
        context = info.context
        acting = await context.acting_for(input.resident_id, Purpose.APPLICATIONS)
        application = logic.ApplicationInput(
            service_id=str(input.service_id),
            idempotency_key=input.idempotency_key,
            documents=tuple(input.documents),
            answers=tuple((a.name, a.value) for a in input.answers),
        )
        service = (await context.loaders.service_index(path_of(info))).get(application.service_id)
        department = None if service is None else context.registry.get(service.department)
        logic.check(application, service, department, catalogue_complete=not context.notices.failures)
        assert department is not None  # check() refuses an application no department takes
        book = SubmissionBook(context.services.sessions)
        case = await logic.submit(book, department, acting, application)
        await context.record_access(acting, "applications", department.id)
        return Case.from_record(case)
