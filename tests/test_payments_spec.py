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
