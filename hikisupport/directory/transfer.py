"""The staff's CSV of the directory: export, and import with a dry run, all or nothing.

UTF-8 with BOM (opens in Japanese Excel), one header row, one service per row. The columns are
documented in the README (「相談先一覧のCSV」). A few cells hold a short list, one entry a line:
開館ルール (HSDS rules, e.g. ``WEEKLY TU,FR 10:00-17:00``) and 臨時休業
(``2026-12-10..2026-12-11 設備点検``). Export → import → export gives the same file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import format_phone, normalize_kana, normalize_line, normalize_phone
from hikisupport.directory import schedules, services
from hikisupport.directory.services import ClosureInput, ScheduleInput, ServiceInput
from hikisupport.models import (
    Booking,
    ConsultMethod,
    Service,
    ServiceAudience,
    ServiceKind,
    ServiceStatus,
)
from hikisupport.rosters.exports import FORMULA_START, defuse
from hikisupport.staff import audit

YES, NO = "はい", "いいえ"
LIST_SEPARATOR = ";"

# (header, ServiceInput field): the documented columns, in order.
COLUMNS = [
    ("ID", "id"),
    ("種類", "kind"),
    ("名称", "name"),
    ("名称（カナ）", "name_kana"),
    ("運営・委託先", "operator"),
    ("対象", "audiences"),
    ("対象年齢", "age_note"),
    ("内容", "description"),
    ("住所", "address"),
    ("交通・アクセス", "access"),
    ("電話番号", "phone"),
    ("メールアドレス", "email"),
    ("ウェブページ", "url"),
    ("費用", "cost"),
    ("予約", "booking"),
    ("申込方法", "how_to_apply"),
    ("相談の方法", "consult_methods"),
    ("匿名で相談できる", "anonymous_ok"),
    ("家族だけで相談できる", "family_alone_ok"),
    ("バリアフリー・配慮", "accessibility"),
    ("秘密の守り方", "confidentiality"),
    ("緯度", "latitude"),
    ("経度", "longitude"),
    ("状態", "status"),
    ("祝日は休み", "closed_on_holidays"),
    ("年末年始は休み", "closed_year_end"),
    ("開館ルール", "schedules"),
    ("臨時休業", "closures"),
    ("開館時間の補足", "schedule_note"),
    ("最終確認日", "last_checked_on"),
]
HEADERS = [header for header, _ in COLUMNS]
_VOCABULARIES = {
    "kind": ServiceKind,
    "booking": Booking,
    "status": ServiceStatus,
}
_LISTS = {"audiences": ServiceAudience, "consult_methods": ConsultMethod}
_BOOLEANS = ("anonymous_ok", "family_alone_ok", "closed_on_holidays", "closed_year_end")
_RULE = re.compile(
    r"^(WEEKLY|MONTHLY)\s+(\S+)\s+(?:(休み|closed)|(\d{1,2}:\d{2})-(\d{1,2}:\d{2}))"
    r"(?:\s+(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?)?$"
)
_CLOSURE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?(?:\s+(.*))?$")


# ---------------------------------------------------------------------------------------------
# Export


def rule_line(rule) -> str:
    """``WEEKLY TU,FR 10:00-17:00``, ``MONTHLY 1SU,3SU 休み``, with ``2026-04-01..`` if limited."""
    hours = (
        "休み"
        if rule.closed
        else f"{schedules.hhmm(rule.opens_at)}-{schedules.hhmm(rule.closes_at)}"
    )
    line = f"{rule.freq} {rule.byday} {hours}"
    if rule.valid_from or rule.valid_to:
        start = rule.valid_from.isoformat() if rule.valid_from else ""
        end = rule.valid_to.isoformat() if rule.valid_to else ""
        line += f" {start}..{end}"
    return line


def closure_line(closure) -> str:
    period = closure.starts_on.isoformat()
    if closure.ends_on != closure.starts_on:
        period += f"..{closure.ends_on.isoformat()}"
    return f"{period} {closure.reason}".rstrip()


def row_of(service: Service) -> list[str]:
    values = {
        "id": str(service.id),
        "kind": ServiceKind.label_of(service.kind),
        "audiences": LIST_SEPARATOR.join(ServiceAudience.label_of(a) for a in service.audiences),
        "consult_methods": LIST_SEPARATOR.join(
            ConsultMethod.label_of(m) for m in service.consult_methods
        ),
        "booking": Booking.label_of(service.booking),
        "status": ServiceStatus.label_of(service.status),
        "phone": format_phone(service.phone) if service.phone else "",
        "latitude": "" if service.latitude is None else repr(service.latitude),
        "longitude": "" if service.longitude is None else repr(service.longitude),
        "schedules": "\n".join(rule_line(r) for r in service.schedules),
        "closures": "\n".join(closure_line(c) for c in service.closures),
        "last_checked_on": service.last_checked_on.isoformat(),
    }
    for name in _BOOLEANS:
        values[name] = YES if getattr(service, name) else NO
    row = []
    for _, name in COLUMNS:
        value = values[name] if name in values else getattr(service, name)
        row.append(defuse(value))
    return row


def export_csv(rows: list[Service] | None = None) -> bytes:
    """Every service (all statuses), audited as an export."""
    found = services.all_services() if rows is None else rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for service in found:
        writer.writerow(row_of(service))
    audit.record("directory.export", object_type="services", rows=len(found))
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------
# Import


@dataclass
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}行目：{self.message}"


@dataclass
class ImportPlan:
    """What an import would do (a dry run), or did."""

    created: list[ServiceInput] = field(default_factory=list)
    updated: list[tuple[Service, ServiceInput]] = field(default_factory=list)
    unchanged: int = 0
    applied: bool = False

    @property
    def rows(self) -> int:
        return len(self.created) + len(self.updated) + self.unchanged


class ImportRefused(DomainError):
    """The file has problems: nothing was imported. `problems`: one per row and reason."""

    code, status = "import_refused", 422

    def __init__(self, problems: list[RowProblem]):
        super().__init__(
            f"{len(problems)}件の問題があるため、取り込みませんでした（1件も変更していません）。"
        )
        self.problems = problems


def _undefuse(value: str) -> str:
    if value.startswith("'") and value[1:2] in FORMULA_START:
        return value[1:]
    return value


def _vocabulary(value: str, vocabulary, what: str):
    value = normalize_line(value)
    for member in vocabulary:
        if value in (member.value, member.label):
            return member.value
    raise ValueError(
        f"{what}「{value}」は使えません（{'、'.join(vocabulary.labels().values())}）。"
    )


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what}「{value}」は日付として読めません（例：2026-12-01）。") from None


def _float(value: str, what: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{what}「{value}」は数値として読めません。") from None


def parse_rule(line: str) -> ScheduleInput:
    match = _RULE.match(line.strip())
    if match is None:
        raise ValueError(
            f"開館ルール「{line}」が読めません（例：WEEKLY TU,FR 10:00-17:00、MONTHLY 2SA 休み）。"
        )
    freq, byday, closed, opens, closes, start, end = match.groups()
    return ScheduleInput(
        freq=freq,
        byday=byday,
        closed=closed is not None,
        opens_at=schedules.parse_hhmm(opens) if opens else None,
        closes_at=schedules.parse_hhmm(closes) if closes else None,
        valid_from=_date(start, "適用開始日") if start else None,
        valid_to=_date(end, "適用終了日") if end else None,
    )


def parse_closure(line: str) -> ClosureInput:
    match = _CLOSURE.match(line.strip())
    if match is None:
        raise ValueError(f"臨時休業「{line}」が読めません（例：2026-12-10..2026-12-11 設備点検）。")
    start, end, reason = match.groups()
    starts_on = _date(start, "臨時休業の開始日")
    return ClosureInput(
        starts_on=starts_on,
        ends_on=_date(end, "臨時休業の終了日") if end else starts_on,
        reason=(reason or "").strip(),
    )


def _lines(value: str) -> list[str]:
    return [line for line in value.replace("\r\n", "\n").split("\n") if line.strip()]


def input_of_row(row: dict[str, str]) -> tuple[int | None, ServiceInput]:
    """One CSV row as (id, input); ValueError (Japanese) for a cell it cannot read."""
    cells = {name: _undefuse(row.get(header) or "") for header, name in COLUMNS}
    values: dict = {}
    for name, vocabulary in _VOCABULARIES.items():
        header = next(h for h, n in COLUMNS if n == name)
        values[name] = _vocabulary(cells[name], vocabulary, header)
    for name, vocabulary in _LISTS.items():
        header = next(h for h, n in COLUMNS if n == name)
        parts = [p for p in re.split(r"[;；]", cells[name]) if p.strip()]
        values[name] = [_vocabulary(p, vocabulary, header) for p in parts]
    for name in _BOOLEANS:
        header = next(h for h, n in COLUMNS if n == name)
        value = normalize_line(cells[name])
        if value not in (YES, NO):
            raise ValueError(f"{header}は「{YES}」か「{NO}」で書いてください。")
        values[name] = value == YES
    values["latitude"] = _float(cells["latitude"], "緯度")
    values["longitude"] = _float(cells["longitude"], "経度")
    values["phone"] = normalize_phone(cells["phone"])
    values["last_checked_on"] = _date(cells["last_checked_on"], "最終確認日")
    values["schedules"] = [parse_rule(line) for line in _lines(cells["schedules"])]
    values["closures"] = [parse_closure(line) for line in _lines(cells["closures"])]
    for _, name in COLUMNS:
        if name not in values and name != "id":
            text = cells[name].replace("\r\n", "\n")
            values[name] = text.strip() if "\n" in text else normalize_line(text)
    values["name_kana"] = normalize_kana(cells["name_kana"]) if cells["name_kana"].strip() else ""
    identifier = cells["id"].strip()
    if identifier and not identifier.isdigit():
        raise ValueError(f"ID「{identifier}」は数字で書いてください（新しい項目は空欄）。")
    return (int(identifier) if identifier else None), ServiceInput(**values)


def _field_label(path: str) -> str:
    head = path.split(".")[0]
    return next((h for h, n in COLUMNS if n == head), head)


def plan_import(body: bytes) -> ImportPlan:
    """Read and check the whole file; ImportRefused with every problem (line and reason)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            [RowProblem(1, "文字コードがUTF-8ではありません。UTF-8（BOM付き）で保存してください。")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ImportRefused(
            [RowProblem(1, "ファイルが空です。1行目に見出しが必要です。")]
        ) from None
    missing = [h for h in HEADERS if h not in header]
    unknown = [h for h in header if h not in HEADERS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(RowProblem(1, f"見出しに次の列がありません：{'、'.join(missing)}"))
        if unknown:
            problems.append(RowProblem(1, f"知らない列があります：{'、'.join(unknown)}"))
        raise ImportRefused(problems)

    existing = {s.id: s for s in services.all_services()}
    plan, problems, seen = ImportPlan(), [], set()
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(start, f"CSVとして読めません（{exc}）。"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                RowProblem(
                    start, f"列の数が見出しと違います（{len(cells)}列、見出しは{len(header)}列）。"
                )
            )
            continue
        try:
            identifier, data = input_of_row(dict(zip(header, cells, strict=True)))
        except ValueError as exc:
            problems.append(RowProblem(start, str(exc)))
            continue
        errors = services.validate(data)
        for path, message in errors.items():
            label = _field_label(path)
            problems.append(
                RowProblem(start, message if label in message else f"{label}：{message}")
            )
        if errors:
            continue
        if identifier is None:
            plan.created.append(data)
            continue
        if identifier in seen:
            problems.append(RowProblem(start, f"ID {identifier} が2回以上出てきます。"))
            continue
        seen.add(identifier)
        service = existing.get(identifier)
        if service is None:
            problems.append(
                RowProblem(
                    start, f"ID {identifier} の項目はありません（新しい項目はIDを空欄にします）。"
                )
            )
        elif services.input_of(service) == data:
            plan.unchanged += 1
        else:
            plan.updated.append((service, data))
    if problems:
        raise ImportRefused(problems)
    return plan


def import_csv(body: bytes, *, dry_run: bool) -> ImportPlan:
    """Check the file; unless `dry_run`, apply every row (all or nothing) and audit it."""
    plan = plan_import(body)
    if dry_run:
        return plan
    for data in plan.created:
        service = Service()
        services.apply(service, data)
        db.session.add(service)
    for service, data in plan.updated:
        services.apply(service, data)
    db.session.flush()
    audit.record(
        "directory.import",
        object_type="services",
        created=len(plan.created),
        updated=len(plan.updated),
        unchanged=plan.unchanged,
    )
    plan.applied = True
    return plan
