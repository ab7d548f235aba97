"""The indicator: ひきこもりサポーターの人数, and everything the policy office reads of it.

`count_supporters` is the one function that counts; every page, export and the API call it.
It counts **distinct persons** (実人数), never certificates (延べ): a person is counted once,
in the fiscal year of their first valid certification whose residency at certification is
counted (setting, default 在住). One aggregate query over `certifications` (its partial index
``ix_certifications_count``); persons merged into another count as that one
(`counted_person_id`), so a merge never double-counts; erasing personal data touches no column
the count reads, so a purge never changes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, fiscal_year, fiscal_year_label
from hikisupport.models import (
    AgeGroup,
    Attendance,
    Certification,
    Event,
    EventKind,
    IndicatorTarget,
    LectureParticipation,
    Municipality,
    PersonMerge,
    Registration,
    Residency,
    ServiceSupporter,
    Session,
)
from hikisupport.reports.participation import fiscal_year_sql
from hikisupport.reports.suppression import Table, suppress

BREAKDOWNS = {
    "event": "講座別",
    "residency": "在住・在勤・在学別",
    "age_group": "年代別",
}


@dataclass
class FiscalYearCount:
    fiscal_year: int
    new: int
    cumulative: int

    @property
    def label(self) -> str:
        return fiscal_year_label(self.fiscal_year)


@dataclass
class SupporterCount:
    """New and cumulative distinct persons per fiscal year, up to the fiscal year of `as_of`."""

    as_of: date
    residencies: list[str]
    fiscal_years: list[FiscalYearCount]
    # With one `by`: (fiscal year, key) → new persons, keys being event ids / residency / 年代.
    breakdown: dict[tuple[int, object], int] = field(default_factory=dict)
    # With several: breakdown name → the same.
    breakdowns: dict[str, dict[tuple[int, object], int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.fiscal_years[-1].cumulative if self.fiscal_years else 0

    def cumulative_in(self, fy: int) -> int:
        """The cumulative count at the end of fiscal year `fy` (as far as counted)."""
        before = [c.cumulative for c in self.fiscal_years if c.fiscal_year <= fy]
        return before[-1] if before else 0


def _end_of(day: date) -> datetime:
    """The first instant after `day` in Japan, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=JST).astimezone(UTC)


def today_in_japan() -> date:
    return datetime.now(UTC).astimezone(JST).date()


def counted_residencies() -> list[str]:
    municipality = db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))
    return list(municipality.counted_residencies) if municipality else [Residency.LIVE.value]


def count_supporters(
    *,
    as_of: date | None = None,
    residencies: list[str] | None = None,
    by: str | tuple[str, ...] | None = None,
    first_fiscal_year: int | None = None,
) -> SupporterCount:
    """The indicator. `as_of`: certifications completed up to that day (Japan time), default
    today; `residencies`: which count (default: the municipality's setting); `by`: also break
    the new persons of each year down by "event", "residency" and/or "age_group" (each person
    at their first counted certification, so the parts add up to the total).

    One query: the first counted certification of each person (a window over the partial
    index), materialised once, then grouped by fiscal year — and by each breakdown, UNION ALL."""
    as_of = as_of or today_in_japan()
    residencies = residencies if residencies is not None else counted_residencies()
    wanted = (by,) if isinstance(by, str) else tuple(by or ())
    if unknown := [b for b in wanted if b not in BREAKDOWNS]:
        raise ValueError(f"unknown breakdown {unknown}")
    ranked = (
        sa.select(
            Certification.fiscal_year,
            Certification.event_id,
            Certification.residency,
            Certification.age_group,
            sa.func.row_number()
            .over(
                partition_by=Certification.counted_person_id,
                order_by=(Certification.completed_at, Certification.id),
            )
            .label("nth"),
        )
        .where(
            Certification.revoked_at.is_(None),
            Certification.residency.in_(residencies),
            Certification.completed_at < _end_of(as_of),
        )
        .subquery("ranked")
    )
    first = (
        sa.select(ranked.c.fiscal_year, ranked.c.event_id, ranked.c.residency, ranked.c.age_group)
        .where(ranked.c.nth == 1)
        .cte("counted")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        sa.select(
            sa.literal("total").label("dimension"),
            first.c.fiscal_year,
            sa.cast(sa.null(), sa.String).label("part"),
            sa.func.count().label("n"),
        ).group_by(first.c.fiscal_year)
    ]
    for dimension in wanted:
        column = first.c[_COLUMNS[dimension]]
        parts.append(
            sa.select(
                sa.literal(dimension),
                first.c.fiscal_year,
                sa.cast(column, sa.String),
                sa.func.count(),
            ).group_by(first.c.fiscal_year, column)
        )
    rows = db.session.execute(sa.union_all(*parts) if len(parts) > 1 else parts[0]).all()

    new_by_year: dict[int, int] = {}
    breakdowns: dict[str, dict[tuple[int, object], int]] = {d: {} for d in wanted}
    for dimension, fy, part, n in rows:  # one row per (fiscal year, part): not per person
        if dimension == "total":
            new_by_year[fy] = n
        else:
            key = int(part) if dimension == "event" else part
            breakdowns[dimension][(fy, key)] = n
    last = fiscal_year(as_of)
    start = min([*new_by_year, last, *([first_fiscal_year] if first_fiscal_year else [])])
    years, cumulative = [], 0
    for fy in range(start, last + 1):  # a handful of fiscal years
        cumulative += new_by_year.get(fy, 0)
        years.append(FiscalYearCount(fy, new_by_year.get(fy, 0), cumulative))
    return SupporterCount(
        as_of,
        list(residencies),
        years,
        breakdowns[wanted[0]] if len(wanted) == 1 else {},
        breakdowns,
    )


_COLUMNS = {"event": "event_id", "residency": "residency", "age_group": "age_group"}


# ---------------------------------------------------------------------------------------------
# Lecture attendance (講演会参加者数): a reference figure beside the indicator


@dataclass
class LectureAttendance:
    fiscal_year: int
    persons: int  # 実人数
    attendances: int  # 延べ

    @property
    def label(self) -> str:
        return fiscal_year_label(self.fiscal_year)


def lecture_attendance(as_of: date | None = None) -> list[LectureAttendance]:
    """Per fiscal year: distinct persons (実人数) and attendances (延べ) at lectures.

    Up to today: read from ``lecture_participations`` (a row per person and year, kept by
    `reports.participation`), merges followed — not from every attendance row. For a day in
    the past, counted from the attendance itself, sessions up to that day only."""
    as_of = as_of or today_in_japan()
    if as_of < today_in_japan():
        return lecture_attendance_counted(as_of)
    person = sa.func.coalesce(PersonMerge.into_id, LectureParticipation.person_id)
    rows = db.session.execute(
        sa.select(
            LectureParticipation.fiscal_year,
            sa.func.count(sa.distinct(person)),
            sa.func.sum(LectureParticipation.attendances),
        )
        .outerjoin(PersonMerge, PersonMerge.duplicate_id == LectureParticipation.person_id)
        .where(LectureParticipation.fiscal_year <= fiscal_year(as_of))
        .group_by(LectureParticipation.fiscal_year)
        .order_by(LectureParticipation.fiscal_year)
    ).all()
    return [LectureAttendance(int(y), p, int(n)) for y, p, n in rows]


def lecture_attendance_counted(as_of: date) -> list[LectureAttendance]:
    """The same figures counted from every lecture attendance of sessions up to `as_of` (one
    query; linear in those rows). The fiscal year is worked out per lecture session (a few),
    not per attendance row, and the attendance side is read from ``ix_attendances_counted``."""
    lectures = (
        sa.select(Session.id.label("session_id"), fiscal_year_sql(Session.starts_at).label("fy"))
        .join(Event, Event.id == Session.event_id)
        .where(Event.kind == EventKind.LECTURE, Session.starts_at < _end_of(as_of))
        .cte("lecture_sessions")
    )
    person = sa.func.coalesce(PersonMerge.into_id, Registration.person_id)
    rows = db.session.execute(
        sa.select(lectures.c.fy, sa.func.count(sa.distinct(person)), sa.func.count())
        .select_from(Attendance)
        .join(lectures, lectures.c.session_id == Attendance.session_id)
        .join(Registration, Registration.id == Attendance.registration_id)
        .outerjoin(PersonMerge, PersonMerge.duplicate_id == Registration.person_id)
        .where(Attendance.undone_at.is_(None))
        .group_by(lectures.c.fy)
        .order_by(lectures.c.fy)
    ).all()
    return [LectureAttendance(int(y), p, n) for y, p, n in rows]


# ---------------------------------------------------------------------------------------------
# The report the policy office reads: counts, targets, pace, projection, breakdowns


@dataclass
class TargetProgress:
    fiscal_year: int
    target: int
    achieved: int  # cumulative at that year's end, or now if it has not ended
    remaining: int
    years_left: int  # fiscal years from now to the target's, this one included
    pace_needed: int | None  # new persons a year to reach it
    projected: int | None  # cumulative at the target year at the pace so far

    @property
    def label(self) -> str:
        return fiscal_year_label(self.fiscal_year)

    @property
    def rate(self) -> float:
        """達成率 (%), one decimal."""
        return round(100 * self.achieved / self.target, 1) if self.target else 0.0

    @property
    def reached(self) -> bool:
        return self.achieved >= self.target


@dataclass
class Breakdown:
    key: str
    title: str
    table: Table


@dataclass
class IndicatorReport:
    municipality: Municipality | None
    name: str
    unit: str
    definition: str
    residency_labels: list[str]
    threshold: int
    counts: SupporterCount
    targets: list[TargetProgress]
    pace_so_far: float
    breakdowns: list[Breakdown]
    lectures: list[LectureAttendance]
    # Supporters (distinct persons, valid certification, any residency) who offered to help
    # at one or more 居場所・相談窓口 — now, a reference figure beside the indicator.
    linked_to_services: int = 0

    @property
    def as_of(self) -> date:
        return self.counts.as_of

    @property
    def current_fiscal_year(self) -> int:
        return fiscal_year(self.as_of)

    @property
    def small(self) -> str:
        return f"{self.threshold}未満"

    @property
    def chart_years(self) -> list[int]:
        """The chart's axis: the counted years, and on to the last target."""
        first = self.counts.fiscal_years[0].fiscal_year
        last = max([self.current_fiscal_year, *(t.fiscal_year for t in self.targets)])
        return list(range(first, last + 1))


def targets() -> list[IndicatorTarget]:
    return list(
        db.session.scalars(sa.select(IndicatorTarget).order_by(IndicatorTarget.fiscal_year))
    )


def count_linked_supporters() -> int:
    """Supporters (distinct persons) linked to at least one 居場所 or 相談窓口."""
    links = ServiceSupporter.live().subquery()
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(links.c.counted_person_id))))


def indicator_report(as_of: date | None = None, details: bool = True) -> IndicatorReport:
    """Everything the policy page, the exports and the API show, from `count_supporters`.
    `details=False` (the API): no breakdowns and no lecture figures."""
    municipality = db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))
    residencies = counted_residencies()
    counts = count_supporters(
        as_of=as_of, residencies=residencies, by=tuple(BREAKDOWNS) if details else None
    )
    current = fiscal_year(counts.as_of)
    elapsed = len(counts.fiscal_years)
    pace = counts.total / elapsed if elapsed else 0.0
    progress = []
    for target in targets():
        achieved = counts.cumulative_in(min(target.fiscal_year, current))
        years_left = max(0, target.fiscal_year - current + 1)
        remaining = max(0, target.target - counts.total) if years_left else 0
        progress.append(
            TargetProgress(
                fiscal_year=target.fiscal_year,
                target=target.target,
                achieved=achieved,
                remaining=remaining,
                years_left=years_left,
                pace_needed=math.ceil(remaining / years_left) if years_left else None,
                projected=round(counts.total + pace * (target.fiscal_year - current))
                if years_left
                else None,
            )
        )
    threshold = municipality.suppression_threshold if municipality else 5
    years = [c.fiscal_year for c in counts.fiscal_years]
    column_totals = {c.fiscal_year: c.new for c in counts.fiscal_years}
    breakdowns = []
    for key, title in BREAKDOWNS.items() if details else ():
        broken = counts.breakdowns[key]
        labels = _labels(key, {k for (_, k) in broken})
        cells = {(labels[k], fy): n for (fy, k), n in broken.items()}
        table = suppress(
            rows=sorted(set(labels.values()), key=_order(key, labels)),
            columns=years,
            cells=cells,
            column_totals=column_totals,
            threshold=threshold,
        )
        breakdowns.append(Breakdown(key, title, table))
    return IndicatorReport(
        municipality=municipality,
        name=municipality.indicator_name if municipality else "ひきこもりサポーターの人数",
        unit=municipality.indicator_unit if municipality else "人",
        definition=municipality.indicator_definition if municipality else "",
        residency_labels=[Residency.label_of(r, r) for r in residencies],
        threshold=threshold,
        counts=counts,
        targets=progress,
        pace_so_far=pace,
        breakdowns=breakdowns,
        lectures=lecture_attendance(counts.as_of) if details else [],
        linked_to_services=count_linked_supporters(),
    )


def _labels(key: str, values: set) -> dict[object, str]:
    if key == "event":
        titles = dict(
            db.session.execute(sa.select(Event.id, Event.title).where(Event.id.in_(values))).all()
        )
        return {v: f"{titles.get(v, '')}（#{v}）" for v in values}
    vocabulary = Residency if key == "residency" else AgeGroup
    return {v: vocabulary.label_of(v, "不明") for v in values}


def _order(key: str, labels: dict):
    if key == "event":
        return lambda label: label
    vocabulary = Residency if key == "residency" else AgeGroup
    order = {vocabulary.label_of(v): i for i, v in enumerate(vocabulary.values())}
    return lambda label: (order.get(label, 99), label)
