"""The certificate PDF (poppler reads it, every font embedded, the QR decodes), its mail through
real SMTP, the personal-page download, and the verification page /v/<code>."""

from __future__ import annotations

import io
import subprocess

import pytest
import sqlalchemy as sa
import zxingcpp
from fixtures.supporters import certifications, jst, pdf_fonts, pdf_text
from PIL import Image

from hikisupport.core.extensions import db
from hikisupport.models import Municipality
from hikisupport.supporters import services
from hikisupport.supporters.certificates import CertificateFontMissing, certificate_pdf


@pytest.fixture
def certified(app, course, enrol, attend):
    db.session.add(Municipality(name="杉並区", code="131156", office_name="保健福祉部"))
    db.session.commit()
    event = course(sessions=1, title="ひきこもりサポーター養成講座", at=[jst(2026, 6, 13, 14)])
    registration = enrol(event, family_name="山田", given_name="花子")
    attend(registration)
    (certification,) = certifications()
    return certification


def test_pdf_text_fonts_and_qr(certified, tmp_path):
    pdf = certificate_pdf(certified)
    text = pdf_text(pdf)
    for expected in (
        "山田 花子",
        "ひきこもりサポーター養成講座",
        "R8-0001",
        "杉並区",
        "令和8年6月13日",
    ):
        assert expected in text, (expected, text)
    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts, "no font in the PDF"
    for row in fonts:
        # name type [encoding...] emb sub uni object ID: every font embedded (emb = yes)
        assert row[-5] == "yes", row
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(path), str(tmp_path / "page")], check=True)
    (page,) = tmp_path.glob("page*.png")
    (result,) = zxingcpp.read_barcodes(Image.open(page))
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == f"http://testserver.invalid/v/{certified.verification_code}"


def test_a_missing_font_is_a_clear_error(certified, app):
    app.config["CERTIFICATE_FONT"] = "/nonexistent/ipaexm.ttf"
    with pytest.raises(CertificateFontMissing, match="fonts-ipaexfont"):
        certificate_pdf(certified)


def test_the_certification_mail_carries_the_certificate(certified, runner, inbox):
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    (message,) = [m for m in inbox.messages() if m["Subject"].startswith("【修了証】")]
    assert message["Subject"] == "【修了証】ひきこもりサポーター養成講座"
    body = message.get_body(("plain",)).get_content()
    assert "R8-0001" in body and certified.verification_code in body
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "certificate-R8-0001.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert "山田 花子" in pdf_text(attachment.get_content())


def test_the_certificate_from_the_personal_page(certified, client):
    token = certified.registration.token
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert f"/r/{token}/certificate.pdf" in page
    response = client.get(f"/r/{token}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "R8-0001" in pdf_text(response.data)
    services.revoke(db.session.merge(certified), "誤り")
    db.session.commit()
    assert client.get(f"/r/{token}/certificate.pdf").status_code == 404


def test_verification_page_shows_the_number_course_date_status_and_a_masked_name(certified, client):
    response = client.get(f"/v/{certified.verification_code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for expected in (
        "R8-0001",
        "ひきこもりサポーター養成講座",
        "令和8年6月13日",
        "有効",
        "山田 ＊＊",
    ):
        assert expected in html
    assert "花子" not in html and "person" not in html and "0333122111" not in html
    services.revoke(db.session.merge(certified), "受講記録の誤り")
    db.session.commit()
    html = client.get(f"/v/{certified.verification_code}").get_data(as_text=True)
    assert "取消" in html and "受講記録の誤り" not in html


def test_unknown_codes_get_the_same_work_and_a_404(certified, client, app):
    """Same answer time: an unknown code runs the same statements and template."""
    statements = []
    code = certified.verification_code

    def count(conn, cursor, statement, *args):
        statements.append(statement[:60])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        known = client.get(f"/v/{code}")
        n_known = len(statements)
        statements.clear()
        unknown = client.get("/v/" + "x" * 32)
        n_unknown = len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert (known.status_code, unknown.status_code) == (200, 404)
    assert n_known == n_unknown, statements
    assert "確認できませんでした" in unknown.get_data(as_text=True)
    assert client.get("/v/" + "ﾟ" * 500).status_code == 404


@pytest.fixture
def app_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize(
    "app_overrides",
    [{"RATELIMIT_ENABLED": True, "VERIFY_RATE_LIMIT": "5 per minute"}],
    indirect=True,
)
def test_the_verification_page_is_rate_limited(certified, app, app_overrides):
    client = app.test_client()
    codes = [client.get(f"/v/unknown{i:020d}").status_code for i in range(6)]
    assert codes == [404] * 5 + [429]
    assert "アクセスが集中" in client.get("/v/x").get_data(as_text=True)


def test_staff_download_is_audited(certified, staff_world, login_as):
    from hikisupport.models import AuditLog

    client = login_as(staff_world.admin)
    response = client.get(f"/staff/certifications/{certified.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert db.session.scalar(sa.select(AuditLog).filter_by(action="certificate.download"))


def test_png_qr_in_pdf_is_a_full_qr_code(certified):
    """make_qr, never a Micro QR: the decoded format is QRCode (checked above); and the PDF's
    QR is vector squares, so it stays sharp when printed."""
    import segno

    qr = segno.make_qr("http://testserver.invalid/v/" + certified.verification_code)
    assert not qr.is_micro
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4)
    assert zxingcpp.read_barcodes(Image.open(buffer))
