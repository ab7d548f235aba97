"""The vocabularies of the domain: one `StrEnum` each, its Japanese labels beside its values.

A column typed with a vocabulary (`vocabulary_column`) is stored as its value and refused by a
CHECK constraint generated from the enum, so the database knows the same words as the code.
Templates and forms read the labels from here (`Residency.labels()`), nowhere else.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa


class Vocabulary(enum.StrEnum):
    """A StrEnum whose members are declared as ``NAME = "value", "日本語の名前"``."""

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """{value: label} in declaration order (for templates, forms and exports)."""
        return {member.value: member.label for member in cls}

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]

    @classmethod
    def label_of(cls, value: str | None, default: str = "") -> str:
        """The label of a stored value; `default` for an empty or unknown one."""
        try:
            return cls(value).label
        except ValueError:
            return default


def vocabulary_column(vocabulary: type[Vocabulary], length: int, name: str = "known"):
    """The column type for a vocabulary: VARCHAR(length) with a CHECK of the enum's values,
    named ``ck_<table>_<name>``."""
    return sa.Enum(
        vocabulary,
        native_enum=False,
        create_constraint=True,
        length=length,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class EventKind(Vocabulary):
    LECTURE = "lecture", "講演会"
    COURSE = "course", "サポーター養成講座"
    FOLLOWUP = "followup", "フォローアップ研修"


class EventStatus(Vocabulary):
    DRAFT = "draft", "下書き（非公開）"
    PUBLISHED = "published", "公開中"
    CANCELLED = "cancelled", "中止"


class Admission(Vocabulary):
    FIRST_COME = "first_come", "先着順"
    LOTTERY = "lottery", "抽選"


class Residency(Vocabulary):
    """在住・在勤・在学: a person's answer, and the list of those an event admits."""

    LIVE = "live", "区内在住"
    WORK = "work", "区内在勤"
    STUDY = "study", "区内在学"
    OTHER = "other", "その他（区外）"


class AgeGroup(Vocabulary):
    UNDER20 = "under20", "20歳未満"
    TWENTIES = "20s", "20代"
    THIRTIES = "30s", "30代"
    FORTIES = "40s", "40代"
    FIFTIES = "50s", "50代"
    SIXTIES = "60s", "60代"
    SEVENTIES = "70s", "70代"
    EIGHTY_PLUS = "80plus", "80歳以上"


class Accommodation(Vocabulary):
    """配慮の申し出 (the contract's `accommodations` values)."""

    CHILDCARE = "childcare", "託児"
    SIGN_LANGUAGE = "sign_language", "手話通訳"
    CAPTIONING = "captioning", "要約筆記"
    WHEELCHAIR = "wheelchair", "車いす席"
    OTHER = "other", "その他の配慮"


class RegistrationStatus(Vocabulary):
    CONFIRMED = "confirmed", "参加確定"
    WAITLISTED = "waitlisted", "キャンセル待ち"
    # A lottery application before the draw (抽選待ち).
    APPLIED = "applied", "抽選待ち"
    CANCELLED = "cancelled", "キャンセル済み"


ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.APPLIED,
)


class RegistrationSource(Vocabulary):
    """How a registration reached us (申込経路)."""

    WEB = "web", "ウェブ"
    PHONE = "phone", "電話"
    POSTCARD = "postcard", "往復はがき"
    COUNTER = "counter", "窓口"
    WALK_IN = "walk_in", "当日参加"
    # From a roster of a course held before this service (supporters.past_courses).
    IMPORT = "import", "過去の名簿から取込"


class AttendanceMethod(Vocabulary):
    QR = "qr", "QRコード"
    NAME = "name", "名前から"
    WALK_IN = "walk_in", "当日参加"
    STAFF = "staff", "職員が入力"
    # A tick on the printed 受付名簿, entered by staff afterwards.
    PAPER = "paper", "紙の名簿"


class OutboxStatus(Vocabulary):
    """pending → sending → sent; or back to pending with a later try; or failed."""

    PENDING = "pending", "送信待ち"
    SENDING = "sending", "送信中"
    SENT = "sent", "送信済み"
    FAILED = "failed", "送信失敗"


class StaffRole(Vocabulary):
    ADMIN = "admin", "管理者"
    ORGANIZER = "organizer", "主催者（事業担当）"
    POLICY = "policy", "企画・政策担当（集計のみ）"


class CertificationSource(Vocabulary):
    """How a certification came about."""

    ATTENDANCE = "attendance", "出席により自動認定"
    MANUAL = "manual", "職員が認定"
    CORRECTION = "correction", "修了証の訂正（再発行）"
    IMPORT = "import", "過去の講座から取込"


class Revocation(Vocabulary):
    """Why a certification is no longer valid (the row is kept)."""

    REVOKED = "revoked", "取消"
    # The check-in that completed the course was undone.
    WITHDRAWN = "withdrawn", "取消（出席の取り消しによる）"
    # A corrected certificate replaced it.
    REPLACED = "replaced", "取消（訂正後の修了証に差し替え）"


class ErasureKind(Vocabulary):
    RETENTION = "retention", "保存期間の経過"
    REQUEST = "request", "本人等の申し出"


class OrganizationKind(Vocabulary):
    WARD = "ward", "区"
    NPO = "npo", "委託先（NPO等）"


class ServiceKind(Vocabulary):
    """What a directory entry is (相談窓口, 居場所 …)."""

    CONSULTATION = "consultation", "相談窓口"
    IBASHO = "ibasho", "居場所"
    FAMILY_GROUP = "family_group", "家族会"
    OTHER = "other", "その他の支援"


class ServiceAudience(Vocabulary):
    """Who a directory entry is for."""

    PERSON = "person", "ご本人"
    FAMILY = "family", "ご家族"
    YOUTH = "youth", "若者（おおむね39歳まで）"
    MIDDLE_AGED = "middle_aged", "中高年（40歳以上）"
    ANYONE = "anyone", "どなたでも"


class ConsultMethod(Vocabulary):
    """Ways to consult (相談の方法)."""

    PHONE = "phone", "電話"
    VISIT = "visit", "来所"
    OUTREACH = "outreach", "訪問（アウトリーチ）"
    EMAIL = "email", "メール"
    ONLINE = "online", "オンライン"
    OTHER = "other", "電話以外の方法（FAX・手紙など）"


class Booking(Vocabulary):
    """Whether a visit needs booking (予約)."""

    REQUIRED = "required", "予約が必要"
    PREFERRED = "preferred", "予約をおすすめします"
    NONE = "none", "予約なしで利用できます"


class ServiceStatus(Vocabulary):
    """公開: listed; 一時休止: listed with a notice, never 「開いている」; 終了: not public."""

    PUBLISHED = "published", "公開"
    PAUSED = "paused", "一時休止"
    CLOSED = "closed", "終了（非公開）"


class ScheduleFrequency(Vocabulary):
    """Open Referral HSDS `schedule.freq` (RFC 5545 names)."""

    WEEKLY = "WEEKLY", "毎週"
    MONTHLY = "MONTHLY", "毎月"


class CancelReason(Vocabulary):
    """Why staff cancel a registration on someone's behalf (chosen on the confirmation page)."""

    PHONE = "phone", "本人から電話"
    MAIL = "mail", "本人からメール"
    DUPLICATE = "duplicate", "重複申込"
    ORGANIZER = "organizer", "主催者判断"
    OTHER = "other", "その他"


class ContactReason(Vocabulary):
    """What a person without e-mail must be told by phone or post (連絡が必要な方)."""

    LOTTERY_WON = "lottery_won", "抽選の結果：当選"
    LOTTERY_WAITLISTED = "lottery_waitlisted", "抽選の結果：キャンセル待ち"
    PROMOTED = "promoted", "キャンセル待ちからの繰り上げ"
    EVENT_CANCELLED = "event_cancelled", "催しの中止"
