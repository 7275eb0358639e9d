"""Turning one department's raw items into canonical records, as the spec's mapping says.

Pure functions, no I/O: the easiest part of a connector to test and the one department IT gets wrong
most often, so every failure names the field, the path and the value that did not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from connectors.formats import ItemReader, JsonReader
from connectors.records import (
    AccountRecord,
    BillRecord,
    CaseEvent,
    CaseRecord,
    CaseStatus,
    Category,
    Channel,
    Criterion,
    OpeningPeriod,
    OperationResult,
    ResidentFacts,
    ServiceRecord,
    StationRecord,
)
from connectors.spec import RECORDS, FieldMap, Operation, Target

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class MappingError(ValueError):
    pass


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise MappingError("a boolean is not a number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise MappingError(f"{text[:40]!r} is not a whole number")
    return int(text)


def _to_float(value: Any) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"{str(value)[:40]!r} is not a number") from exc
    if result != result or result in (float("inf"), float("-inf")):
        raise MappingError("not a finite number")
    return result


def _yuan_to_fen(value: Any) -> int:
    """Money as a yuan decimal ("12.50") becomes integer fen exactly, never through a float."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MappingError(f"{str(value)[:40]!r} is not an amount") from exc
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise MappingError(f"{value!r} has fractions of a fen")
    return int(fen)


def parse_datetime(value: Any, date_format: str) -> datetime:
    """Departments send dates as ISO strings, ``yyyyMMdd`` or epoch (milli)seconds; all become aware."""
    text = str(value).strip()
    try:
        if date_format == "epoch_ms":
            return datetime.fromtimestamp(_to_int(text) / 1000, UTC)
        if date_format == "epoch_s":
            return datetime.fromtimestamp(_to_int(text), UTC)
        if date_format == "yyyyMMdd":
            if not re.fullmatch(r"\d{8}", text):
                raise MappingError(f"{text[:40]!r} is not yyyyMMdd")
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=SHANGHAI)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), SHANGHAI)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as exc:
        raise MappingError(f"{text[:40]!r} is not a {date_format} date") from exc
    # A local timestamp without offset is Shanghai time: that is where every department is.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


_DAYS = re.compile(r"^([1-7])(?:-([1-7]))?$")
_TIMES = re.compile(r"^(\d{1,2}):?(\d{2})-(\d{1,2}):?(\d{2})$")


def parse_opening_hours(value: Any) -> tuple[OpeningPeriod, ...]:
    """``"1-5 09:00-17:00;6 09:00-12:00"`` -> one period per weekday (ISO 1 = Monday)."""
    periods: list[OpeningPeriod] = []
    for part in str(value).replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        days_text, _, times_text = part.partition(" ")
        days, times = _DAYS.match(days_text.strip()), _TIMES.match(times_text.strip())
        if not days or not times:
            raise MappingError(f"{part[:40]!r} is not 'D[-D] HH:MM-HH:MM'")
        first, last = int(days.group(1)), int(days.group(2) or days.group(1))
        opens = int(times.group(1)) * 60 + int(times.group(2))
        closes = int(times.group(3)) * 60 + int(times.group(4))
        if first > last or not 0 <= opens < closes <= 24 * 60:
            raise MappingError(f"{part[:40]!r} is not a valid range")
        periods.extend(OpeningPeriod(day, opens, closes) for day in range(first, last + 1))
    return tuple(sorted(periods, key=lambda p: (p.weekday, p.opens)))


def _vocabulary(field_map: FieldMap, word: str) -> str:
    if field_map.values is None:
        return word
    if word in field_map.values:
        return field_map.values[word]
    if field_map.fallback is not None:
        return field_map.fallback
    raise MappingError(f"{word[:40]!r} is not in the department's vocabulary")


_TRUE = frozenset({"true", "1", "yes", "y", "t", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "否"})


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MappingError(f"{text[:40]!r} is not a yes or no")


def canonical_value(value: Any) -> str:
    """A criterion's value as text: 65 -> "65", True -> "true", ["LOW", "MIDDLE"] -> "LOW,MIDDLE"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(canonical_value(v) for v in value)
    return str(value).strip()


_SCALAR: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: str(v).strip(),
    "int": _to_int,
    "fen": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "yuan": _yuan_to_fen,
    "value": canonical_value,
    "opening_hours": parse_opening_hours,
}


def _decode_json(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MappingError(f"{raw[:40]!r} is not JSON") from exc


def _words(raws: list[Any], field_map: FieldMap) -> list[str]:
    words: list[str] = []
    for raw in raws:
        if isinstance(raw, list):
            words.extend(str(v).strip() for v in raw)
        elif field_map.split:
            words.extend(w.strip() for w in str(raw).split(field_map.split))
        else:
            words.append(str(raw).strip())
    return [w for w in words if w]


def _sub_items(item: Any, reader: ItemReader, field_map: FieldMap) -> tuple[list[Any], ItemReader]:
    """The sub-items of a records field, and how to read them: JSON text is decoded first (a CSV
    column), and XML sub-items are elements read like the item itself (attributes, child text)."""
    if not field_map.from_json:
        raws = reader.items(item, field_map.path)
        if raws and isinstance(raws[0], list):  # a JSON path that crossed a list of lists
            raws = [x for r in raws for x in r]
        return raws, reader
    decoded = [_decode_json(r) for r in reader.get_all(item, field_map.path)]
    return [x for d in decoded for x in (d if isinstance(d, list) else [d])], JsonReader()


def read_field(item: Any, reader: ItemReader, field_map: FieldMap) -> Any:
    """One canonical field from one raw item; ``None`` (or ``()``) when the department left it out.

    The department's vocabulary is applied to its own word first, then the conversion: "一级" -> "1"
    -> 1, "城镇" -> "urban", "职工医保" -> "EMPLOYEE".
    """
    if field_map.convert == "records":
        sub_items, sub_reader = _sub_items(item, reader, field_map)
        return tuple(read_fields(sub, sub_reader, field_map.fields or {}) for sub in sub_items)
    if field_map.convert == "list" or field_map.split:
        return tuple(
            _vocabulary(field_map, w) for w in _words(reader.get_all(item, field_map.path), field_map)
        )
    raw = reader.get(item, field_map.path)
    if field_map.from_json:
        raw = _decode_json(raw)
    if raw is None or raw == "":
        return None
    if field_map.values is not None:
        raw = _vocabulary(field_map, canonical_value(raw))
    if field_map.convert == "datetime":
        return parse_datetime(raw, field_map.date_format)
    if field_map.convert == "date":
        return parse_datetime(raw, field_map.date_format).astimezone(SHANGHAI).date()
    return _SCALAR[field_map.convert](raw)


def read_fields(item: Any, reader: ItemReader, mapping: Mapping[str, FieldMap]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field_map in mapping.items():
        try:
            value = read_field(item, reader, field_map)
        except MappingError as exc:
            raise MappingError(f"{name} (from '{field_map.path}'): {exc}") from exc
        if (value is None or value == ()) and field_map.default is not None:
            value = field_map.default
        values[name] = value
    return values


def _required(values: Mapping[str, Any], targets: Mapping[str, Target], where: str = "") -> None:
    """Every required field present, in sub-items too; words outside the canonical vocabulary refused."""
    missing = [f"{where}{n}" for n, t in targets.items() if t.required and values.get(n) in (None, "", ())]
    if missing:
        raise MappingError(f"missing {', '.join(missing)}")
    for name, target in targets.items():
        value = values.get(name)
        if target.vocabulary is not None and value is not None:
            for word in value if isinstance(value, tuple) else (value,):
                if word not in target.vocabulary:
                    raise MappingError(f"{where}{name}: {str(word)[:40]!r} is not a known value")
        if target.fields is not None:
            for index, sub in enumerate(value or ()):
                _required(sub, target.fields, f"{where}{name}[{index}].")


def _service(department: str, v: dict[str, Any]) -> ServiceRecord:
    return ServiceRecord(
        id=v["id"],
        department=department,
        name_zh=v["name_zh"],
        name_en=v.get("name_en") or "",
        description=v.get("description") or "",
        category=Category(v["category"]),
        channels=tuple(dict.fromkeys(Channel(c) for c in v.get("channels") or ())),
        fee_fen=v.get("fee_fen") or 0,
        processing_days=v.get("processing_days"),
        required_documents=tuple(v.get("required_documents") or ()),
        updated_at=v.get("updated_at"),
        criteria=tuple(
            Criterion(c["fact"], c["op"], c["value"], c.get("text") or "") for c in v.get("criteria") or ()
        ),
    )


def _station(department: str, v: dict[str, Any]) -> StationRecord:
    latitude, longitude = v["latitude"], v["longitude"]
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MappingError(f"({latitude}, {longitude}) is not a place on Earth")
    return StationRecord(
        id=v["id"],
        department=department,
        name=v["name"],
        town=v.get("town") or "",
        address=v.get("address") or "",
        latitude=latitude,
        longitude=longitude,
        phone=v.get("phone") or "",
        opening_hours=v.get("opening_hours") or (),
        service_ids=tuple(v.get("service_ids") or ()),
    )


_FACT_NAMES = tuple(
    f.name for f in dataclass_fields(ResidentFacts) if f.name not in ("resident_id", "department")
)


def _facts(department: str, v: dict[str, Any]) -> ResidentFacts:
    return ResidentFacts(
        resident_id=v.get("resident_id") or "",
        department=department,
        **{name: v.get(name) for name in _FACT_NAMES},
    )


def _case(department: str, v: dict[str, Any]) -> CaseRecord:
    history = tuple(
        sorted(
            (
                CaseEvent(
                    e["at"],
                    CaseStatus(e["status"]),
                    e.get("department_status") or e["status"],
                    e.get("note") or "",
                )
                for e in v.get("history") or ()
            ),
            key=lambda e: e.at,
        )
    )
    return CaseRecord(
        id=v["id"],
        department=department,
        service_id=v["service_id"],
        resident_id=v.get("resident_id") or "",
        status=CaseStatus(v["status"]),
        department_status=v.get("department_status") or v["status"],
        history=history,
        submitted_at=v.get("submitted_at"),
        updated_at=v.get("updated_at"),
        next_action=v.get("next_action"),
        expected_completion=v.get("expected_completion"),
    )


def _account(department: str, v: dict[str, Any]) -> AccountRecord:
    return AccountRecord(
        key=v["key"], department=department, resident_id=v.get("resident_id") or "", kind=v.get("kind")
    )


def _bill(department: str, v: dict[str, Any]) -> BillRecord:
    return BillRecord(
        id=v["id"],
        department=department,
        account=v.get("account") or "",
        utility=v.get("utility") or "",
        period=v.get("period") or "",
        amount_fen=int(v["amount_fen"]),
        due_date=v.get("due_date"),
        paid=bool(v.get("paid")),
        paid_at=v.get("paid_at"),
        resident_id=v.get("resident_id") or "",
    )


BUILDERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "catalog": _service,
    "stations": _station,
    "facts": _facts,
    "cases": _case,
    "accounts": _account,
    "bills": _bill,
}

MAX_REPORTED_PROBLEMS = 5


def map_records(
    items: Iterable[Any], reader: ItemReader, operation: Operation, capability: str, department: str
) -> OperationResult[Any]:
    """Map every item; a bad item is left out and described, the good ones are kept."""
    build = BUILDERS[capability]
    records: list[Any] = []
    problems: list[str] = []
    skipped = 0
    for index, item in enumerate(items):
        try:
            values = read_fields(item, reader, operation.mapping)
            _required(values, RECORDS[capability])
            records.append(build(department, values))
        except (MappingError, ValueError, KeyError, TypeError) as exc:
            skipped += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(f"item {index}: {exc}")
    if skipped > len(problems):
        problems.append(f"... {skipped - len(problems)} more items left out")
    return OperationResult(tuple(records), tuple(problems))
