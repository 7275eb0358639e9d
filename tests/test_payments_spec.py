"""The ``payments`` operation of a connector spec: what a department is told, and what a spec must say."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.payments import PaymentConfirmation, fill
from connectors.spec import parse_spec

UTILITIES = (Path(__file__).resolve().parents[1] / "connectors" / "specs" / "utilities.yaml").read_text()
WHEN = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def with_payments(block: str) -> str:
    head = UTILITIES[: UTILITIES.index("  # a payment the provider confirmed")]
    return head + block


def test_the_bundled_utilities_spec_reports_payments() -> None:
    spec = parse_spec(UTILITIES, {})
    operation = spec.operations["payments"]
    assert operation.method == "POST" and not operation.public
    assert "{provider_txn}" in (operation.body or "") and "{bill_id}" in operation.path


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (
            "  payments:\n    path: /api/bills/{bill_id}/payments?txn={provider_txn}\n    public: false\n"
            "    mapping: {id: billId, amount_fen: {path: amountFen, convert: fen}}\n",
            "a payment is reported with POST",
        ),
        (
            "  payments:\n    method: POST\n    path: /api/bills/{bill_id}/payments\n    public: false\n"
            "    mapping: {id: billId, amount_fen: {path: amountFen, convert: fen}}\n",
            "needs {provider_txn}",
        ),
        (
            "  payments:\n    method: POST\n    path: /api/bills/{bill_id}/{provider_txn}/{resident_id}\n"
            "    public: false\n    mapping: {id: billId, amount_fen: {path: amountFen, convert: fen}}\n",
            "unknown placeholder {resident_id}",
        ),
        (
            "  payments:\n    method: POST\n    path: /api/bills/{bill_id}/{provider_txn}\n"
            "    mapping: {id: billId, amount_fen: {path: amountFen, convert: fen}}\n",
            "a payment is personal",
        ),
    ],
)
def test_a_payments_operation_must_say_what_it_reports(block: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_spec(with_payments(block), {})


def test_only_plain_values_reach_the_department() -> None:
    good = PaymentConfirmation("SH5725534970-202610", "4200000001", 3157, WHEN, "OS0123")
    assert fill(good) == {
        "bill_id": "SH5725534970-202610",
        "provider_txn": "4200000001",
        "amount_fen": "3157",
        "paid_at": "2026-11-26T02:00:00+00:00",
        "payment_id": "OS0123",
    }
    for bad in ('4200", "amountFen": 1, "x": "', "../../admin", ""):
        with pytest.raises(ValueError):
            PaymentConfirmation("SH5725534970-202610", bad, 3157, WHEN, "OS0123")
    with pytest.raises(ValueError):
        PaymentConfirmation("SH5725534970-202610", "4200000001", 0, WHEN, "OS0123")
    with pytest.raises(ValueError):
        PaymentConfirmation("SH5725534970-202610", "4200000001", 1, WHEN.replace(tzinfo=None), "OS0123")


PLANNING = (Path(__file__).resolve().parents[1] / "connectors" / "specs" / "planning-land.yaml").read_text()
FEE_HEAD = PLANNING[: PLANNING.index("  # a fee paid through the payment provider")]


def test_the_bundled_planning_land_spec_reports_fees_in_the_body() -> None:
    operation = parse_spec(PLANNING, {}).operations["fee_payments"]
    assert operation.method == "POST" and not operation.public
    assert "{case_id}" in (operation.body or "") and "{provider_txn}" in (operation.body or "")


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (  # a case reference holds '/': in a path it would name another resource
            "  fee_payments:\n    method: POST\n    path: /api/anjian/{case_id}/jiaofei\n"
            '    body: \'{"t": "{provider_txn}"}\'\n    public: false\n    mapping: *case_mapping\n',
            "a case reference may hold '/'",
        ),
        (
            "  fee_payments:\n    method: POST\n    path: /api/anjian/jiaofei\n"
            '    body: \'{"c": "{case_id}", "t": "{provider_txn}", "b": "{bill_id}"}\'\n'
            "    public: false\n    mapping: *case_mapping\n",
            "unknown placeholder {bill_id}",
        ),
        (
            "  fee_payments:\n    method: POST\n    path: /api/anjian/jiaofei\n"
            '    body: \'{"c": "{case_id}"}\'\n    public: false\n    mapping: *case_mapping\n',
            "needs {provider_txn}",
        ),
    ],
)
def test_a_fee_payments_operation_must_say_what_it_reports(block: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_spec(FEE_HEAD + block, {})


def test_a_fee_names_its_case_and_nothing_else() -> None:
    fee = PaymentConfirmation("GH/2026/90001", "4200000001", 8000, WHEN, "OS0123", kind="FEE")
    assert fill(fee)["case_id"] == "GH/2026/90001" and "bill_id" not in fill(fee)
    for bad in ('GH", "jine_fen": 1, "x": "', "/etc", ""):
        with pytest.raises(ValueError):
            PaymentConfirmation(bad, "4200000001", 8000, WHEN, "OS0123", kind="FEE")
    with pytest.raises(ValueError):  # a bill number never holds '/' (it goes into a path)
        PaymentConfirmation("GH/2026/90001", "4200000001", 8000, WHEN, "OS0123")
    with pytest.raises(ValueError):
        PaymentConfirmation("GH-1", "4200000001", 8000, WHEN, "OS0123", kind="TIP")
