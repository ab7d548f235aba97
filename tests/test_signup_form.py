"""Every way to break the sign-up form: a Japanese message beside the field, 422, nothing saved."""

import pytest
import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.models import OutboxMessage, Person, Registration


def row_counts():
    """What a refused step 2 must not add to (step 1's link mail aside)."""
    return [
        db.session.scalar(sa.select(sa.func.count()).select_from(Person)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Registration)),
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind != "apply")
        ),
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("family_name", "", "姓を入力してください。"),
        ("family_name", "　　", "姓を入力してください。"),
        ("given_name", None, "名を入力してください。"),
        ("family_name", "杉" * 31, "30文字以内で入力してください。"),
        ("family_name", "杉\x00並", "使用できない文字が含まれています。"),
        ("family_name_kana", "", "フリガナ（セイ）を入力してください。"),
        ("family_name_kana", "杉並", "フリガナはカタカナまたはひらがなで入力してください。"),
        ("given_name_kana", "Hanako", "フリガナはカタカナまたはひらがなで入力してください。"),
        ("email", "", "メールアドレスを入力してください。"),
        ("email", "hanako@example", "メールアドレスの形式が正しくありません"),
        ("email", "hanako.example.jp", "メールアドレスの形式が正しくありません"),
        ("phone", "", "電話番号を入力してください。"),
        ("phone", "03-1234", "電話番号の形式が正しくありません"),
        ("phone", "abcdefghij", "電話番号の形式が正しくありません"),
        ("residency", None, "区内在住・在勤・在学のいずれかを選んでください。"),
        ("residency", "mars", "選択肢の中から選んでください。"),
        ("age_group", None, "年代を選んでください。"),
        ("age_group", "teen", "選択肢の中から選んでください。"),
        ("accommodations", "helicopter", "選択肢の中から選んでください。"),
        ("accommodations", "childcare", "託児を希望する場合は、お子さまの年齢を入力してください。"),
        ("needs", "あ" * 1001, "1000文字以内で入力してください。"),
        ("needs", "ok\x07", "使用できない文字が含まれています。"),
        ("consent", None, "個人情報の利用目的への同意が必要です。"),
    ],
)
def test_bad_input_is_refused_beside_the_field(make_event, sign_up, field, value, message):
    event = make_event()
    before = row_counts()
    response = sign_up(event.id, **{field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    # The error sits in the summary and beside the field, tied to it for screen readers.
    error_id = "childcare_ages-error" if message.startswith("託児") else f"{field}-error"
    assert f'id="{error_id}"' in html
    assert "data-error-summary" in html
    assert row_counts() == before


def test_what_was_typed_is_kept_when_the_form_comes_back(make_event, sign_up):
    event = make_event()
    html = sign_up(event.id, phone="03-1234", needs="車いすで伺います").get_data(as_text=True)
    assert 'value="杉並"' in html
    assert "車いすで伺います" in html
    assert 'aria-invalid="true"' in html


def test_optional_fields_may_be_empty(make_event, sign_up):
    event = make_event()
    response = sign_up(event.id, accommodations=None, childcare_ages="", needs="")
    assert response.status_code == 303


def test_accommodations_are_stored(make_event, sign_up):
    event = make_event()
    response = sign_up(
        event.id,
        data={"accommodations": ["childcare", "sign_language"], "childcare_ages": "３歳"},
    )
    assert response.status_code == 303
    registration = db.session.scalar(sa.select(Registration))
    assert registration.accommodations == ["childcare", "sign_language"]
    assert registration.childcare_ages == "3歳"


def test_missing_csrf_token_is_refused_without_saving(make_event, client, valid_form, app):
    from hikisupport.registration.links import make_token

    event = make_event()
    before = row_counts()
    response = client.post(f"/events/{event.id}/register", data={"email": "a@example.jp"})
    assert response.status_code == 400
    with app.test_request_context():
        link = f"/events/{event.id}/apply/{make_token(event.id, 'a@example.jp')}"
    assert client.post(link, data=valid_form).status_code == 400
    assert row_counts() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_unknown_event_is_404(client, app):
    assert client.get("/events/999999/register").status_code == 404
    assert client.get("/events/999999").status_code == 404
