"""The audit log: who did or saw what, when, from where; and how an admin reads it.

Rows are only ever added (see `_refuse_changes`, and the database triggers in models/audit.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event as sa_event
from sqlalchemy.orm import selectinload

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import normalize_kana
from hikisupport.core.transaction import execute_write
from hikisupport.models import (
    AuditLog,
    Event,
    EventStatus,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Session,
    StaffRole,
    StaffUser,
)
from hikisupport.staff.access import current_caller

# Audit rows are written with one Core insert, built once (a row per sign-up, check-in, export).
_INSERT_ENTRY = sa.insert(AuditLog.__table__)


def record(action: str, obj=None, /, **detail) -> None:
    """Write an audit row in the current transaction (never commits): one Core insert, not a
    row added to the session. A new `obj` is flushed first, for its id."""
    if obj is not None:
        db.session.flush()
    execute_write(_INSERT_ENTRY, _entry(action, obj, detail))


def record_many(action: str, entries: list[tuple[object, dict]]) -> None:
    """`record` for several objects at once (a batch of check-ins certifying several people):
    one row each, written by one insert."""
    if entries:
        db.session.flush()
        execute_write(_INSERT_ENTRY, [_entry(action, obj, dict(detail)) for obj, detail in entries])


def _entry(action: str, obj, detail: dict) -> dict:
    """An audit row's values: the caller, the object (flushed already), the detail."""
    caller = current_caller() if has_request_context() else None
    if caller is not None and caller.is_device:
        detail.setdefault("device_id", caller.id)
    staff_email = caller.label if caller is not None else detail.pop("staff_email", "")
    if obj is not None:
        object_type, object_id = type(obj).__tablename__, getattr(obj, "id", None)
    else:
        object_type, object_id = detail.pop("object_type", ""), detail.pop("object_id", None)
    return {
        "at": utcnow(),
        "staff_id": caller.id if caller is not None and caller.is_staff else None,
        "staff_email": staff_email,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail,
        "ip": (request.remote_addr or "") if has_request_context() else "cli",
    }


# What each action means, in the words an auditor from the ward reads without a codebook. The
# one table of them: every action the code records has a line here (a test checks).
ACTIONS = {
    "roster.view": "名簿を閲覧",
    "roster.export": "名簿を出力",
    "roster.print": "名簿を印刷",
    "roster.mail": "協力するサポーターにメールを送信（名簿を使用）",
    "contacts.view": "連絡が必要な方を閲覧",
    "contact.done": "連絡済にした",
    "registration.create": "申込を登録",
    "registration.cancel": "申込を取消",
    "registration.promote": "キャンセル待ちから繰り上げ",
    "registration.update": "申込内容（電話番号・配慮）を変更",
    "lottery.draw": "抽選を実施",
    "event.create": "催しを作成",
    "event.update": "催しを変更",
    "event.publish": "催しを公開",
    "event.cancel": "催しを中止",
    "mail.list": "メールの一覧を閲覧",
    "mail.view": "メールを閲覧",
    "mail.retry": "メールを再送",
    "mail.send_now": "メールをすぐに送信",
    "organization.create": "団体を追加",
    "staff.create": "職員を登録",
    "staff.login": "ログイン",
    "staff.logout": "ログアウト",
    "staff.login_failed": "ログインに失敗",
    "staff.throttled": "端末からのログインを一時制限",
    "staff.locked": "アカウントをロック",
    "staff.unlock": "ログインの制限を解除",
    "staff.activate": "アカウントを再開",
    "staff.deactivate": "アカウントを停止",
    "staff.password_reset": "パスワードを再設定",
    "staff.password_change": "パスワードを変更",
    "staff.role_change": "役割を変更",
    "token.issue": "APIトークンを発行",
    "token.revoke": "APIトークンを無効化",
    "directory.create": "相談先を登録",
    "directory.update": "相談先を変更",
    "directory.status": "相談先の公開状態を変更",
    "directory.check": "相談先の内容を確認",
    "directory.export": "相談先一覧を出力",
    "directory.import": "相談先一覧を取り込み",
    "device.create": "受付端末を追加",
    "device.pairing_code": "受付端末の接続コードを発行",
    "device.pair": "受付端末を接続",
    "device.revoke": "受付端末を無効化",
    "attendance.paper": "紙の名簿の受付を入力",
    "attendance.undo": "受付を取り消し",
    "attendance.redo": "取り消した受付をやり直し",
    "certification.issue": "サポーターに認定",
    "certification.correct": "修了証を訂正して再発行",
    "certification.rebase": "認定の根拠の出席を付け替え",
    "certification.reinstate": "取り下げた認定を戻す",
    "certification.withdrawn": "認定を取り下げ（出席の取消）",
    "certification.revoked": "認定を取り消し",
    "certification.replaced": "認定を訂正版に置き換え",
    "certificate.download": "修了証を出力",
    "supporter.services": "協力する相談先（居場所・相談窓口）を変更",
    "cohort.link": "振替の対象の講座をつなぐ",
    "cohort.unlink": "振替の対象の講座を外す",
    "completion.view": "修了の状況を閲覧",
    "indicator.update": "指標の設定を変更",
    "past_courses.check": "過去の講座の取り込みを確認",
    "past_courses.apply": "過去の講座を取り込み",
    "person.search": "人物を検索",
    "person.view": "人物を閲覧",
    "person.merge_preview": "人物の統合を確認",
    "person.merge": "人物を統合",
    "person.erase": "個人情報を消去",
    "report.export": "集計を出力",
    "retention.dry_run": "保存期間を過ぎた情報を確認",
    "retention.purge": "保存期間を過ぎた情報を消去",
}

# The details' names and, where they are codes, their values in words.
DETAIL_NAMES = {
    "reason": "理由",
    "rows": "件数",
    "query": "検索語",
    "format": "形式",
    "via": "経路",
    "status": "状態",
    "source": "申込経路",
    "by": "操作",
    "was": "取消前の状態",
    "before": "変更前",
    "after": "変更後",
    "title": "名称",
    "name": "名称",
    "seed": "シード値",
    "algorithm": "抽選の方式",
    "applicants": "申込者数",
    "winners": "当選者数",
    "registrations": "対象の申込",
    "capacity": "定員",
    "out_of_turn": "順番によらない繰り上げ",
    "prefix": "トークンの先頭",
    "role": "役割",
    "organization": "所属",
    "email": "メールアドレス",
    "failures": "失敗回数",
    "failures_from_this_address": "この端末からの失敗回数",
    "client": "端末",
    "until": "制限の終了",
    "tokens_revoked": "無効にしたトークン",
    "was_locked": "ロック中だった",
    "throttles_lifted": "解除した端末の制限",
    "contact_id": "連絡の番号",
    "device_id": "端末の番号",
    "outcome": "結果",
    "added": "協力を始めた相談先の番号",
    "removed": "協力をやめた相談先の番号",
    "subject": "件名",
}
DETAIL_VALUES = {
    "by": {"staff": "職員が操作", "resident": "本人が操作", "waitlist": "自動（空席が出たため）"},
    "format": {"csv": "CSV", "xlsx": "Excel（.xlsx）"},
    "via": {"api": "API"},
    "reason": {
        "unknown": "登録のないメールアドレス",
        "password": "パスワードの誤り",
        "locked": "ロック中のアカウント",
        "inactive": "停止中のアカウント",
    },
    "algorithm": {"python-random-shuffle-v1": "シード値による無作為な並べ替え（公開の手順）"},
    "outcome": {"sent": "送信しました", "not sent": "送信できませんでした", "unknown": "不明"},
}
# Whose words a status or role value is (the vocabularies know their labels).
_VALUE_VOCABULARIES = {
    "status": (RegistrationStatus, EventStatus, OutboxStatus),
    "was": (RegistrationStatus,),
    "source": (RegistrationSource,),
    "role": (StaffRole,),
}


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def _value_words(key: str, value) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, dict):
        return "、".join(f"{detail_name(k)}：{_value_words(k, v)}" for k, v in value.items())
    if value is None or value == "":
        return "なし"
    text = str(value)
    if text in DETAIL_VALUES.get(key, {}):
        return DETAIL_VALUES[key][text]
    for vocabulary in _VALUE_VOCABULARIES.get(key, ()):
        label = vocabulary.label_of(text)
        if label:
            return label
    return text


def detail_name(key: str) -> str:
    return DETAIL_NAMES.get(key, key)


@dataclass
class Entry:
    """One row of the log as people read it."""

    row: AuditLog
    action: str  # in words
    target: str  # the event's title, the person's name (when the reader may see names) …
    reason: str
    details: list[tuple[str, str]]


@dataclass
class AuditFilter:
    action: str = ""
    staff: str = ""
    object_type: str = ""
    # Words in the object: an event's title, or a person's name or フリガナ.
    target: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def _target_condition(text: str, names: bool):
    """Rows about an event whose title holds `text` (the event, its sessions and registrations)
    or, for a reader who may see names, about a registration of a person so named."""
    events = sa.select(Event.id).where(Event.title.contains(text, autoescape=True))
    registrations = sa.select(Registration.id).where(Registration.event_id.in_(events))
    if names:
        squeezed = text.replace(" ", "").replace("\u3000", "")
        registrations = sa.select(Registration.id).where(
            sa.or_(
                Registration.event_id.in_(events),
                (Registration.family_name + Registration.given_name).contains(
                    squeezed, autoescape=True
                ),
                (Registration.family_name_kana + Registration.given_name_kana).contains(
                    normalize_kana(squeezed), autoescape=True
                ),
            )
        )
    sessions = sa.select(Session.id).where(Session.event_id.in_(events))
    return sa.or_(
        sa.and_(AuditLog.object_type == Event.__tablename__, AuditLog.object_id.in_(events)),
        sa.and_(AuditLog.object_type == Session.__tablename__, AuditLog.object_id.in_(sessions)),
        sa.and_(
            AuditLog.object_type == Registration.__tablename__,
            AuditLog.object_id.in_(registrations),
        ),
    )


def search(
    filters: AuditFilter, page: int, page_size: int, names: bool = False
) -> tuple[list[AuditLog], bool]:
    """One page of the log, newest first, and whether there is a next page."""
    query = sa.select(AuditLog)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action[:50], autoescape=True))
    if filters.staff:
        query = query.where(
            AuditLog.staff_email.contains(filters.staff.lower()[:254], autoescape=True)
        )
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type[:30])
    if filters.target:
        query = query.where(_target_condition(filters.target[:100], names))
    if filters.start is not None:
        query = query.where(AuditLog.at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditLog.at < filters.end)
    rows = db.session.scalars(
        query.order_by(AuditLog.id.desc()).limit(page_size + 1).offset((page - 1) * page_size)
    ).all()
    return list(rows[:page_size]), len(rows) > page_size


def _by_id(model, ids: set[int], *options) -> dict[int, object]:
    if not ids:
        return {}
    query = sa.select(model).where(model.id.in_(ids))
    if options:
        query = query.options(*options)
    return {obj.id: obj for obj in db.session.scalars(query)}


def describe(rows: list[AuditLog], names: bool) -> list[Entry]:
    """The rows in words: what was done, to what (the event's title, and the person's name for a
    reader allowed to see names — never for the policy role), why, and the rest of the detail."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.object_id is not None:
            wanted.setdefault(row.object_type, set()).add(row.object_id)
    events = _by_id(Event, wanted.get(Event.__tablename__, set()))
    sessions = _by_id(
        Session, wanted.get(Session.__tablename__, set()), selectinload(Session.event)
    )
    registrations = _by_id(
        Registration,
        wanted.get(Registration.__tablename__, set()),
        selectinload(Registration.event),
    )
    staff = _by_id(StaffUser, wanted.get(StaffUser.__tablename__, set()))
    organizations = _by_id(Organization, wanted.get(Organization.__tablename__, set()))
    messages = _by_id(OutboxMessage, wanted.get(OutboxMessage.__tablename__, set()))

    def target(row: AuditLog) -> str:
        oid = row.object_id
        if row.object_type == Event.__tablename__ and oid in events:
            return f"催し「{events[oid].title}」"
        if row.object_type == Session.__tablename__ and oid in sessions:
            return f"催し「{sessions[oid].event.title}」第{sessions[oid].number}回"
        if row.object_type == Registration.__tablename__ and oid in registrations:
            registration = registrations[oid]
            who = f"{registration.full_name} さん" if names else f"申込 #{oid}"
            return f"{who}（催し「{registration.event.title}」、受付番号 {registration.ticket}）"
        if row.object_type == StaffUser.__tablename__ and oid in staff:
            return f"職員 {staff[oid].email}"
        if row.object_type == Organization.__tablename__ and oid in organizations:
            return f"団体「{organizations[oid].name}」"
        if row.object_type == OutboxMessage.__tablename__ and oid in messages:
            return f"メール「{messages[oid].subject}」" + (
                f"（宛先 {messages[oid].recipient}）" if names else ""
            )
        if row.object_type:
            return f"{row.object_type} #{oid}" if oid is not None else row.object_type
        return ""

    entries = []
    for row in rows:
        detail = dict(row.detail or {})
        reason = detail.pop("reason", "")
        if not names:
            detail.pop("query", None)  # a search for a name is a name
        entries.append(
            Entry(
                row=row,
                action=action_label(row.action),
                target=target(row),
                reason=_value_words("reason", reason) if reason else "",
                details=[(detail_name(k), _value_words(k, v)) for k, v in detail.items()],
            )
        )
    return entries


def actions() -> list[tuple[str, str]]:
    """(action, words) for every action that occurs in the log (the filter's choices)."""
    found = db.session.scalars(sa.select(AuditLog.action).distinct()).all()
    return sorted(((a, action_label(a)) for a in found), key=lambda pair: pair[1])


@sa_event.listens_for(AuditLog, "before_update")
@sa_event.listens_for(AuditLog, "before_delete")
def _refuse_changes(mapper, connection, target):
    raise PermissionError("the audit log is append-only")
