"""The indicator's settings (name, unit, definition, counted residency, targets, suppression
threshold, retention years): data an admin edits, each change audited."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from hikisupport.core.errors import Invalid
from hikisupport.core.extensions import db
from hikisupport.models import IndicatorTarget, Municipality, Residency
from hikisupport.municipality.services import forget_municipality
from hikisupport.staff import audit


@dataclass
class IndicatorSettings:
    name: str
    unit: str
    definition: str
    residencies: list[str]
    targets: dict[int, int]
    threshold: int
    retention_years: int


def current(municipality: Municipality) -> IndicatorSettings:
    return IndicatorSettings(
        name=municipality.indicator_name,
        unit=municipality.indicator_unit,
        definition=municipality.indicator_definition,
        residencies=list(municipality.counted_residencies),
        targets={t.fiscal_year: t.target for t in db.session.scalars(sa.select(IndicatorTarget))},
        threshold=municipality.suppression_threshold,
        retention_years=municipality.retention_fiscal_years,
    )


def targets_text(targets: dict[int, int]) -> str:
    return "\n".join(f"{fy} {n}" for fy, n in sorted(targets.items()))


def parse_targets(text: str) -> dict[int, int]:
    """「2026 120」 per line (年度 then 目標値; 全角 digits, commas or tabs also accepted)."""
    targets, problems = {}, []
    for number, line in enumerate(unicodedata.normalize("NFKC", text).splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"\s*(\d{4})\s*[,、\t ]\s*(\d{1,7})\s*", line)
        if not match or not 2000 <= int(match.group(1)) <= 2100:
            problems.append(f"{number}行目")
            continue
        targets[int(match.group(1))] = int(match.group(2))
    if problems:
        raise Invalid(
            "目標は1行に「年度 目標値」（例：2026 120）で入力してください（"
            + "、".join(problems)
            + "）。",
            field="targets",
        )
    return targets


def update(municipality: Municipality, new: IndicatorSettings) -> None:
    errors = {}
    if not new.name.strip() or len(new.name) > 100:
        errors["name"] = "指標名を100文字以内で入力してください。"
    if not new.unit.strip() or len(new.unit) > 10:
        errors["unit"] = "単位を10文字以内で入力してください。"
    if len(new.definition) > 1000:
        errors["definition"] = "説明は1000文字以内で入力してください。"
    if not new.residencies or any(r not in Residency.values() for r in new.residencies):
        errors["residencies"] = "数える区民の範囲を1つ以上選んでください。"
    if not 1 <= new.threshold <= 100:
        errors["threshold"] = "秘匿の基準は1から100の間で入力してください。"
    if not 1 <= new.retention_years <= 30:
        errors["retention_years"] = "保存期間は1から30年度の間で入力してください。"
    if errors:
        raise Invalid("入力内容に誤りがあります。", fields=errors)
    before = current(municipality)
    municipality.indicator_name = new.name.strip()
    municipality.indicator_unit = new.unit.strip()
    municipality.indicator_definition = new.definition.strip()
    municipality.counted_residencies = [r.value for r in Residency if r in new.residencies]
    municipality.suppression_threshold = new.threshold
    municipality.retention_fiscal_years = new.retention_years
    existing = {t.fiscal_year: t for t in db.session.scalars(sa.select(IndicatorTarget))}
    for fy, target in existing.items():
        if fy not in new.targets:
            db.session.delete(target)
    for fy, value in new.targets.items():
        if fy in existing:
            existing[fy].target = value
        else:
            db.session.add(IndicatorTarget(fiscal_year=fy, target=value))
    db.session.flush()
    after = current(municipality)
    changes = {
        key: {"before": _plain(getattr(before, key)), "after": _plain(getattr(after, key))}
        for key in vars(before)
        if getattr(before, key) != getattr(after, key)
    }
    audit.record("indicator.update", municipality, changes=changes)
    forget_municipality()  # this process's pages and mails read the new settings


def _plain(value):
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value
