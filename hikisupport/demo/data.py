"""Demo data: 杉並区, its indicator targets, and three events a few weeks ahead.

Dates are relative to today (two to six weeks ahead), so the demo always has events open for
sign-up. Loading twice changes nothing: the municipality row is the marker.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, jst_datetime
from hikisupport.demo.directory import load_directory
from hikisupport.models import (
    Admission,
    Event,
    EventKind,
    IndicatorTarget,
    Municipality,
    OrganizationKind,
    Session,
)
from hikisupport.staff.services import create_staff, get_or_create_organization

WARD = "杉並区 保健福祉部 くらしのサポートステーション"
NPO = "NPO法人 すぎなみ居場所ネット（委託先）"
# (e-mail, password, role, organization): printed by `flask demo load`; never for production.
DEMO_STAFF = [
    ("admin@example.jp", "demo-admin-2026", "admin", None),
    ("ward@example.jp", "demo-ward-2026", "organizer", WARD),
    ("npo@example.jp", "demo-npo-2026!", "organizer", NPO),
    ("policy@example.jp", "demo-policy-2026", "policy", None),
]

VENUE_HALL = "杉並区役所 中棟6階 第4会議室"
VENUE_HALL_ACCESS = (
    "東京メトロ丸ノ内線「南阿佐ケ谷」駅 徒歩1分、JR「阿佐ケ谷」駅 徒歩7分。"
    "エレベーターあり、車いす用トイレあり。"
)
VENUE_CENTER = "セシオン杉並 第1・第2集会室"
VENUE_CENTER_ACCESS = (
    "東京メトロ丸ノ内線「東高円寺」駅 徒歩5分。バリアフリー対応、駐車場はありません。"
)
HALL_ADDRESS = "東京都杉並区阿佐谷南1-15-1"
CENTER_ADDRESS = "東京都杉並区梅里1-22-32"
# Each organizer's own window: an NPO's course is not answered at the ward's switchboard.
WARD_CONTACT = {
    "contact_phone": "03-3312-2111",
    "contact_email": "kurashi-support@example.jp",
    "contact_hours": "平日 8時30分〜17時",
}
NPO_CONTACT = {
    "contact_phone": "03-5300-0000",
    "contact_email": "info@ibasho-net.example.jp",
    "contact_hours": "火〜土 10時〜18時",
}
BELONGINGS = "筆記用具（資料は当日お配りします）"


def _saturday_on_or_after(day: date) -> date:
    """The first Saturday on or after `day`, skipping the year-end closure (12/28–1/4)."""
    day += timedelta(days=(5 - day.weekday()) % 7)
    while (day.month, day.day) >= (12, 28) or (day.month, day.day) <= (1, 4):
        day += timedelta(days=7)
    return day


def _session(
    number: int, day: date, start: tuple[int, int], end: tuple[int, int], venue: str, access: str
) -> Session:
    return Session(
        number=number,
        starts_at=jst_datetime(day.year, day.month, day.day, *start),
        ends_at=jst_datetime(day.year, day.month, day.day, *end),
        venue=venue,
        access=access,
    )


def load_demo() -> bool:
    """Add the demo data unless it is there. True if anything was added (caller commits)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Municipality)):
        return False
    db.session.add(
        Municipality(
            name="杉並区",
            code="131156",
            programme_name="杉並区ひきこもりサポーター養成事業",
            office_name="杉並区 保健福祉部 くらしのサポートステーション",
            office_contact="電話 03-3312-2111（代表） 平日8時30分〜17時",
            counted_residencies=["live"],
            retention_fiscal_years=3,
        )
    )
    db.session.add_all(
        [
            IndicatorTarget(fiscal_year=2026, target=120),
            IndicatorTarget(fiscal_year=2030, target=360),
        ]
    )
    ward = get_or_create_organization(WARD, kind=OrganizationKind.WARD)
    npo = get_or_create_organization(NPO, kind=OrganizationKind.NPO)
    for email, password, role, organization in DEMO_STAFF:
        org = {WARD: ward, NPO: npo}.get(organization)
        create_staff(email, role, password, org, name=f"デモ {role}")

    now = utcnow()
    today = now.astimezone(JST).date()
    week_ago = jst_datetime(today.year, today.month, today.day, 9, 0) - timedelta(days=7)
    lecture_day = _saturday_on_or_after(today + timedelta(days=14))
    course_day = _saturday_on_or_after(today + timedelta(days=21))
    three = [_saturday_on_or_after(today + timedelta(days=28))]
    for _ in range(2):
        three.append(_saturday_on_or_after(three[-1] + timedelta(days=7)))

    lecture = Event(
        organization=ward,
        kind=EventKind.LECTURE,
        title="ひきこもりを知る講演会「家族が元気になることから始めよう」",
        description=(
            "ひきこもりの状態にある方のご家族や、地域で見守る方に向けた講演会です。"
            "長年ひきこもり支援に携わってきた精神保健福祉士が、本人の気持ちの理解、"
            "家族の関わり方、相談できる窓口についてお話しします。"
            "区内在住・在勤・在学の方なら、ご家族でなくても参加できます。途中入退室も自由です。"
        ),
        audience="ご本人、ご家族、地域で見守る方など、関心のある方",
        capacity=80,
        waitlist=True,
        certifies=False,
        eligible_residencies=["live", "work", "study"],
        registration_opens_at=week_ago,
        registration_closes_at=jst_datetime(
            lecture_day.year, lecture_day.month, lecture_day.day, 12, 0
        ),
        sessions=[_session(1, lecture_day, (14, 0), (16, 0), VENUE_HALL, VENUE_HALL_ACCESS)],
        venue_address=HALL_ADDRESS,
        **WARD_CONTACT,
    )
    one_day = Event(
        organization=ward,
        kind=EventKind.COURSE,
        title="ひきこもりサポーター養成講座（1日コース）",
        description=(
            "ひきこもりについての基礎知識と、身近な人から相談を受けたときに区の相談窓口へ"
            "つなぐ方法を学ぶ講座です。修了した方は「ひきこもりサポーター」として登録され、"
            "修了証をお渡しします。"
        ),
        audience="区内在住・在勤・在学の18歳以上の方",
        capacity=30,
        waitlist=True,
        certifies=True,
        eligible_residencies=["live", "work", "study"],
        registration_opens_at=week_ago,
        registration_closes_at=jst_datetime(
            course_day.year, course_day.month, course_day.day, 9, 0
        ),
        sessions=[_session(1, course_day, (13, 30), (16, 30), VENUE_CENTER, VENUE_CENTER_ACCESS)],
        venue_address=CENTER_ADDRESS,
        belongings=BELONGINGS,
        **WARD_CONTACT,
    )
    three_part = Event(
        organization=npo,
        kind=EventKind.COURSE,
        title="ひきこもりサポーター養成講座（全3回）",
        description=(
            "3回の講座で、ひきこもりの背景、本人と家族の気持ち、地域でできる支え方、"
            "居場所や相談窓口の役割を、当事者・家族の体験談やグループワークを交えて学びます。"
            "全3回の出席で修了となります（欠席した回は、次の期の同じ回で振替ができます）。"
        ),
        audience="区内在住の方",
        capacity=24,
        waitlist=True,
        certifies=True,
        eligible_residencies=["live"],
        registration_opens_at=week_ago,
        registration_closes_at=jst_datetime(three[0].year, three[0].month, three[0].day, 9, 0),
        sessions=[
            _session(i + 1, day, (10, 0), (12, 0), VENUE_HALL, VENUE_HALL_ACCESS)
            for i, day in enumerate(three)
        ],
        venue_address=HALL_ADDRESS,
        belongings=BELONGINGS,
        **NPO_CONTACT,
    )
    followup_day = _saturday_on_or_after(three[-1] + timedelta(days=14))
    followup = Event(
        organization=ward,
        kind=EventKind.FOLLOWUP,
        title="ひきこもりサポーター フォローアップ研修（抽選）",
        description=(
            "養成講座を修了したサポーターの方を対象に、相談を受けたときの対応を事例で振り返り、"
            "区内の居場所や相談窓口の最新情報をお伝えします。会場の都合により抽選とします。"
        ),
        audience="ひきこもりサポーターとして登録されている方",
        capacity=20,
        waitlist=True,
        admission=Admission.LOTTERY,
        certifies=False,
        eligible_residencies=["live", "work", "study"],
        registration_opens_at=week_ago,
        registration_closes_at=jst_datetime(today.year, today.month, today.day, 17, 0)
        + timedelta(days=10),
        sessions=[_session(1, followup_day, (14, 0), (16, 0), VENUE_CENTER, VENUE_CENTER_ACCESS)],
        venue_address=CENTER_ADDRESS,
        belongings="筆記用具、サポーター登録証（お持ちの方）",
        **WARD_CONTACT,
    )
    db.session.add_all([lecture, one_day, three_part, followup])
    db.session.flush()
    load_directory(today)
    return True
