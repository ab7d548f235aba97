"""Municipality settings and the indicator's targets: data an admin can change, not code."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hikisupport.core.extensions import db

INDICATOR_DEFINITION = (
    "ひきこもりに関する講演会・サポーター養成講座等に参加し、ひきこもり状態にある方への理解を"
    "深め、相談支援機関等の案内ができるようになった区民の人数"
)


class Municipality(db.Model):
    """The one municipality this installation serves (a single row)."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    # 全国地方公共団体コード (6 digits with check digit), e.g. 杉並区 = 131156
    code: Mapped[str] = mapped_column(sa.String(6))
    programme_name: Mapped[str] = mapped_column(sa.String(100), default="ひきこもりサポーター事業")
    office_name: Mapped[str] = mapped_column(sa.String(100), default="")
    office_contact: Mapped[str] = mapped_column(sa.Text, default="")
    indicator_name: Mapped[str] = mapped_column(
        sa.String(100), default="ひきこもりサポーターの人数"
    )
    indicator_unit: Mapped[str] = mapped_column(sa.String(10), default="人")
    # What the indicator means, as published (指標の説明).
    indicator_definition: Mapped[str] = mapped_column(sa.Text, default=INDICATOR_DEFINITION)
    # Which residencies count as 区民 for the indicator.
    counted_residencies: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["live"])
    # Personal data of non-supporters is anonymised this many fiscal years after the event.
    retention_fiscal_years: Mapped[int] = mapped_column(default=3)
    # Breakdowns show a cell under this number as 「5未満」 (small-cell suppression).
    suppression_threshold: Mapped[int] = mapped_column(default=5)


class IndicatorTarget(db.Model):
    """A cumulative target: e.g. 120 supporters by FY2026 (令和8年度)."""

    __tablename__ = "indicator_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(unique=True)
    target: Mapped[int]
