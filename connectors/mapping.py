"""Turning one department's raw items into canonical records, as the spec's mapping says.

Pure functions, no I/O: the easiest part of a connector to test and the one department IT gets wrong
most often, so every failure names the field, the path and the value that did not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.formats import ItemReader
from connectors.records import Category, Channel, OpeningPeriod, OperationResult, ServiceRecord, StationRecord
from connectors.spec import REQUIRED_FIELDS, FieldMap, Operation

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


_SCALAR: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: str(v).strip(),
    "int": _to_int,
    "fen": _to_int,
    "float": _to_float,
    "yuan": _yuan_to_fen,
}


def read_field(item: Any, reader: ItemReader, field_map: FieldMap) -> Any:
    """One canonical field from one raw item; ``None`` when absent and optional."""
    if field_map.convert == "list" or field_map.split:
        raw_values = reader.get_all(item, field_map.path)
        words: list[str] = []
        for raw in raw_values:
            if isinstance(raw, list):
                words.extend(str(v).strip() for v in raw)
            elif field_map.split:
                words.extend(w.strip() for w in str(raw).split(field_map.split))
            else:
                words.append(str(raw).strip())
        return tuple(_vocabulary(field_map, w) for w in words if w)
    raw = reader.get(item, field_map.path)
    if raw is None or raw == "":
        return None
    if field_map.convert == "datetime":
        return parse_datetime(raw, field_map.date_format)
    if field_map.convert == "opening_hours":
        return parse_opening_hours(raw)
    value = _SCALAR[field_map.convert](raw)
    return _vocabulary(field_map, value) if isinstance(value, str) else value


def _fields(item: Any, reader: ItemReader, operation: Operation, required: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field_map in operation.mapping.items():
        try:
            value = read_field(item, reader, field_map)
        except MappingError as exc:
            raise MappingError(f"{name} (from '{field_map.path}'): {exc}") from exc
        if value is None or value == ():
            value = field_map.default if field_map.default is not None else value
        values[name] = value
    missing = [name for name in required if values.get(name) in (None, "")]
    if missing:
        raise MappingError(f"missing {', '.join(missing)}")
    return values


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


BUILDERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {"catalog": _service, "stations": _station}

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
            records.append(build(department, _fields(item, reader, operation, REQUIRED_FIELDS[capability])))
        except (MappingError, ValueError, KeyError, TypeError) as exc:
            skipped += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(f"item {index}: {exc}")
    if skipped > len(problems):
        problems.append(f"... {skipped - len(problems)} more items left out")
    return OperationResult(tuple(records), tuple(problems))
