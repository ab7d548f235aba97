"""The JSON shape of `GET /api/v1/reports/supporters` (pydantic), as the contract gives it."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from hikisupport.api.schemas import Answer
from hikisupport.reports.services import IndicatorReport


class Target(Answer):
    fiscal_year: int = Field(description="年度（西暦の年度の始まる年）")
    target: int = Field(description="累計の目標値")


class FiscalYear(Answer):
    fiscal_year: int
    new: int = Field(description="その年度に新たに数えた人数（実人数）")
    cumulative: int = Field(description="その年度末までの累計（実人数）")


class SupporterReport(Answer):
    indicator: str = Field(examples=["ひきこもりサポーターの人数"])
    unit: str = Field(examples=["人"])
    counting: str = Field(
        default="distinct_persons", description="実人数（同じ人は一度だけ数えます）"
    )
    counted_residencies: list[str] = Field(description="数える区民の範囲（live/work/study/other）")
    municipality_code: str = ""
    targets: list[Target]
    fiscal_years: list[FiscalYear]
    as_of: date
    linked_to_services: int = Field(
        description="居場所・相談窓口への協力を申し出ているサポーターの人数（実人数、現在）"
    )

    @classmethod
    def of(cls, report: IndicatorReport) -> SupporterReport:
        return cls(
            indicator=report.name,
            unit=report.unit,
            counted_residencies=report.counts.residencies,
            municipality_code=report.municipality.code if report.municipality else "",
            targets=[Target(fiscal_year=t.fiscal_year, target=t.target) for t in report.targets],
            fiscal_years=[
                FiscalYear(fiscal_year=c.fiscal_year, new=c.new, cumulative=c.cumulative)
                for c in report.counts.fiscal_years
            ],
            as_of=report.as_of,
            linked_to_services=report.linked_to_services,
        )
