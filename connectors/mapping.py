"""Turning one department's raw items into canonical records, as the spec's mapping says.

Pure functions, no I/O: the easiest part of a connector to test and the one department IT gets wrong
most often, so every failure names the field, the path and the value that did not fit.
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import jmespath
import orjson

from connectors.formats import ItemReader, JsonReader
from connectors.spec import DATE_PATTERN_TOKENS, RECORDS, FieldMap, Operation, Target
from domain.records import (
    AccountRecord,
    BillRecord,
    CaseEvent,
    CaseRecord,
    CaseStatus,
    Category,
    Channel,
    Criterion,
    HoursReceipt,
    OpeningPeriod,
    OperationResult,
    ResidentFacts,
    ServiceRecord,
    StationRecord,
    VolunteerRecord,
)

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class MappingError(ValueError):
    pass


class FieldError(MappingError):
    """A mapped field that did not fit; its message starts with the field's name (a key path)."""


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


# thousands separators only in groups of three: "3,2万" is a typo, not 32万
_MONEY = re.compile(
    r"^(-?)(?:¥|￥|RMB|CNY)?\s*(\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*(万元|万|元|圆|人民币|RMB|CNY)?$"
)


def _money_to_fen(value: Any) -> int:
    """Money as the department writes it (``¥1,234.50``, ``12.50元``, ``3.2万元``) becomes integer fen,
    exactly, never through a float; anything else is refused, never taken as free."""
    if isinstance(value, bool):
        raise MappingError("a boolean is not an amount")
    text = "".join(str(value).split())
    match = _MONEY.match(text)
    if match is None:
        raise MappingError(f"{text[:40]!r} is not an amount of money")
    sign, digits, unit = match.groups()
    try:
        amount = Decimal(digits.replace(",", "").replace("，", ""))
    except InvalidOperation as exc:
        raise MappingError(f"{text[:40]!r} is not an amount of money") from exc
    fen = amount * (1_000_000 if unit in ("万元", "万") else 100)
    if fen != fen.to_integral_value():
        raise MappingError(f"{text[:40]!r} has fractions of a fen")
    return -int(fen) if sign else int(fen)


_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _duration_days(value: Any) -> int:
    """An ISO 8601 duration (``P5D``, ``P2W``, ``PT36H``) in whole days, a part day counting as a day.
    Months and years are not a fixed number of days: refused, not guessed."""
    text = str(value).strip().upper()
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise MappingError(f"{text[:40]!r} is not an ISO 8601 duration in weeks, days or hours")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = (weeks * 7 + days) * 86_400 + hours * 3600 + minutes * 60 + seconds
    return math.ceil(total / 86_400)


@functools.lru_cache(maxsize=256)
def _pattern(date_format: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """``yyyy年M月d日 HH:mm`` -> a regex and the name of each group."""
    widths = {"yyyy": r"(\d{4})", "yy": r"(\d{2})", "MM": r"(\d{2})", "dd": r"(\d{2})", "HH": r"(\d{2})"}
    widths |= {"mm": r"(\d{2})", "ss": r"(\d{2})"}
    regex, names, at = "", [], 0
    for token in DATE_PATTERN_TOKENS.finditer(date_format):
        regex += re.escape(date_format[at : token.start()])
        regex += widths.get(token.group(0), r"(\d{1,2})")
        names.append(token.group(0)[0])
        at = token.end()
    return re.compile(regex + re.escape(date_format[at:])), tuple(names)


def _by_pattern(text: str, date_format: str, zone: tzinfo) -> datetime:
    regex, names = _pattern(date_format)
    match = regex.fullmatch(text)
    if match is None:
        raise MappingError(f"{text[:40]!r} does not match {date_format!r}")
    parts = {name: int(value) for name, value in zip(names, match.groups(), strict=True)}
    year = parts["y"] + (2000 if parts["y"] < 100 else 0)
    return datetime(
        year, parts["M"], parts["d"], parts.get("H", 0), parts.get("m", 0), parts.get("s", 0), 0, zone
    )


def time_zone(name: str) -> tzinfo:
    if name in ("UTC", "Z"):
        return UTC
    if re.fullmatch(r"[+-]\d{2}:\d{2}", name):
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    return SHANGHAI if name == "Asia/Shanghai" else zoneinfo.ZoneInfo(name)


def parse_datetime(value: Any, date_format: str, zone_name: str = "Asia/Shanghai") -> datetime:
    """Departments send dates as ISO strings, ``yyyyMMdd``, epoch (milli)seconds or in a pattern of
    their own (``yyyy年M月d日``); all become aware, in ``zone_name`` when they do not say their own."""
    text = str(value).strip()
    zone = time_zone(zone_name)
    try:
        if date_format == "epoch_ms":
            return datetime.fromtimestamp(_to_int(text) / 1000, UTC)
        if date_format == "epoch_s":
            return datetime.fromtimestamp(_to_int(text), UTC)
        if date_format == "yyyyMMdd":
            if not re.fullmatch(r"\d{8}", text):
                raise MappingError(f"{text[:40]!r} is not yyyyMMdd")
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=zone)
        if date_format != "iso":
            return _by_pattern(text, date_format, zone)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), zone)
        parsed = datetime.fromisoformat(text)
    except MappingError:
        raise
    except (ValueError, OverflowError, OSError) as exc:
        raise MappingError(f"{text[:40]!r} is not a {date_format} date") from exc
    # A local timestamp without offset is in the department's zone (Shanghai unless it says otherwise).
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


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
    if field_map.pass_through:
        return word
    raise MappingError(f"{word[:40]!r} is not in the department's vocabulary")


_TRUE = frozenset({"true", "1", "yes", "y", "t", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "否"})


def _to_bool(value: Any, field_map: FieldMap | None = None) -> bool:
    if isinstance(value, bool):
        return value
    if field_map is not None and (field_map.true_words or field_map.false_words):
        word = str(value).strip().lower()
        if word in {w.lower() for w in field_map.true_words or ()}:
            return True
        if word in {w.lower() for w in field_map.false_words or ()}:
            return False
        raise MappingError(f"{word[:40]!r} is neither of true_words nor of false_words")
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
    "money": _money_to_fen,
    "duration_days": _duration_days,
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


@functools.lru_cache(maxsize=512)
def _expression(text: str) -> Any:
    return jmespath.compile(text)


class _ExprReader(JsonReader):
    """Reads a field by a JMESPath expression over the item (validated when the spec was checked);
    lists and items as ``JsonReader`` reads them."""

    def get(self, item: Any, expr: str) -> Any:
        if not isinstance(item, (dict, list)):
            raise MappingError("expressions read JSON and CSV items")
        return _expression(expr).search(item)


_EXPR = _ExprReader()


def _trimmed(value: Any, field_map: FieldMap) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if field_map.trim:
            value = value.strip(field_map.trim + " \t\r\n\u3000")
    return value


def read_field(item: Any, reader: ItemReader, field_map: FieldMap) -> Any:
    """One canonical field from one raw item; ``None`` (or ``()``) when the department left it out.

    The department's vocabulary is applied to its own word first, then the conversion: "一级" -> "1"
    -> 1, "城镇" -> "urban", "职工医保" -> "EMPLOYEE".
    """
    source: ItemReader = reader
    where = field_map.path
    if field_map.expr is not None:
        source, where = _EXPR, field_map.expr
    if field_map.convert == "records":
        if field_map.expr is not None:
            subs = source.items(item, where)
            return tuple(read_fields(sub, JsonReader(), field_map.fields or {}) for sub in subs)
        sub_items, sub_reader = _sub_items(item, reader, field_map)
        return tuple(read_fields(sub, sub_reader, field_map.fields or {}) for sub in sub_items)
    if field_map.convert == "list" or field_map.split:
        raws = [_trimmed(r, field_map) for r in source.get_all(item, where)]
        return tuple(_vocabulary(field_map, w) for w in _words(raws, field_map))
    if field_map.join is not None:
        parts = [str(_trimmed(p, field_map)) for p in source.get_all(item, where)]
        raw: Any = field_map.join.join(p for p in parts if p) or None
    else:
        raw = _trimmed(source.get(item, where), field_map)
    if field_map.from_json:
        raw = _decode_json(raw)
    if raw is None or raw == "":
        return None
    if field_map.values is not None:
        raw = _vocabulary(field_map, canonical_value(raw))
    if field_map.convert == "datetime":
        return parse_datetime(raw, field_map.date_format, field_map.time_zone)
    if field_map.convert == "date":
        zone = time_zone(field_map.time_zone)
        return parse_datetime(raw, field_map.date_format, field_map.time_zone).astimezone(zone).date()
    if field_map.convert == "bool":
        return _to_bool(raw, field_map)
    return _SCALAR[field_map.convert](raw)


def read_fields(item: Any, reader: ItemReader, mapping: Mapping[str, FieldMap]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field_map in mapping.items():
        try:
            value = read_field(item, reader, field_map)
        except MappingError as exc:
            source = f"expr '{field_map.expr}'" if field_map.expr is not None else f"'{field_map.path}'"
            raise FieldError(f"{name} (from {source}): {exc}") from exc
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


def _volunteer(department: str, v: dict[str, Any]) -> VolunteerRecord:
    return VolunteerRecord(
        resident_id=v.get("resident_id") or "",
        department=department,
        volunteer_no=v.get("volunteer_no") or "",
        status=v.get("status") or "",
    )


def _hours_receipt(department: str, v: dict[str, Any]) -> HoursReceipt:
    return HoursReceipt(
        report_key=v["report_key"],
        department=department,
        hours=float(v["hours"]),
        total_hours=v.get("total_hours"),
        result=v.get("result") or "",
        resident_id=v.get("resident_id") or "",
    )


BUILDERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "catalog": _service,
    "stations": _station,
    "facts": _facts,
    "cases": _case,
    "accounts": _account,
    "bills": _bill,
    "volunteers": _volunteer,
    "hours_reports": _hours_receipt,
}

MAX_REPORTED_PROBLEMS = 5
MONEY_FIELDS = frozenset({"fee_fen", "amount_fen"})


def _money_known(values: Mapping[str, Any], mapping: Mapping[str, FieldMap]) -> None:
    """A fee or amount the department did not send is unknown, never free (0)."""
    for name in MONEY_FIELDS & set(mapping):
        if values.get(name) is None:
            field_map = mapping[name]
            raise FieldError(
                f"{name} (from '{field_map.path or field_map.expr}'): no amount in the answer "
                "(unknown is not free; give `default: 0` if the department leaves free ones out)"
            )


def _named(item: Any, reader: ItemReader, operation: Operation) -> str:
    """`` (id X)`` for a problem's record, when its id can be read: department IT looks it up by it."""
    id_map = operation.mapping.get("id")
    if id_map is None or id_map.expr is not None:
        return ""
    try:
        value = reader.get(item, id_map.path)
    except (MappingError, ValueError, TypeError, AttributeError):
        return ""
    return f" (id {str(value)[:40]})" if value not in (None, "") else ""


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
            _money_known(values, operation.mapping)
            records.append(build(department, values))
        except (MappingError, ValueError, KeyError, TypeError) as exc:
            skipped += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                where = f"operations.{capability}.mapping." if isinstance(exc, FieldError) else ""
                problems.append(f"item {index}{_named(item, reader, operation)}: {where}{exc}")
    if skipped > len(problems):
        problems.append(f"... {skipped - len(problems)} more items left out")
    return OperationResult(tuple(records), tuple(problems))
