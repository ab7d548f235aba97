"""The certificate (修了証): an A4 PDF with the municipality, the person's name, the course, the
date in 和暦, the number, what a supporter does, and a QR code to the verification page.

The font is embedded as a subset of IPAex明朝 (TrueType), so every PC shows and prints the same
glyphs; reportlab's built-in CID fonts are never embedded and are not used. The font file is
not shipped in the package: it comes from Debian's `fonts-ipaexfont` (installed by `.ci/run`;
`apt-get install fonts-ipaexfont`), or any copy named by `CERTIFICATE_FONT`. Without it,
`CertificateFontMissing` says exactly that; nothing is downloaded at run time.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from flask import current_app
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from hikisupport.core.japanese import wareki_date
from hikisupport.core.urls import external_url
from hikisupport.models import Certification
from hikisupport.municipality.services import current_municipality

DEFAULT_FONT = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"
FONT_NAME = "HikisupportCertificateMincho"
SUPPORTER_TEXT = (
    "ひきこもりサポーターは、ひきこもりの状態にある方やそのご家族の気持ちを理解し、",
    "身近な人から相談を受けたときに話を聴き、区の相談窓口や居場所を案内します。",
)


class CertificateFontMissing(RuntimeError):
    """The TrueType font to embed is not on this machine."""


def verification_url(certification: Certification) -> str:
    """The public page that confirms a certificate (its QR code points here)."""
    return external_url("supporters.verify", code=certification.verification_code)


def font_path() -> Path:
    return Path(current_app.config.get("CERTIFICATE_FONT") or DEFAULT_FONT)


def _register_font() -> str:
    path = font_path()
    registered = pdfmetrics.getRegisteredFontNames()
    name = f"{FONT_NAME}-{abs(hash(str(path))) % 10**8}"
    if name in registered:
        return name
    if not path.is_file():
        raise CertificateFontMissing(
            f"修了証の作成に必要なフォント {path} がありません。"
            "Debian/Ubuntu では `apt-get install fonts-ipaexfont` でインストールするか、"
            "環境変数 CERTIFICATE_FONT にIPAex明朝（TrueType）のファイルを指定してください。"
            f" (certificate font not found: {path}; install fonts-ipaexfont or set "
            "CERTIFICATE_FONT)"
        )
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def _centered(c: canvas.Canvas, font: str, size: float, y: float, text: str) -> None:
    c.setFont(font, size)
    c.drawCentredString(A4[0] / 2, y, text)


def _qr(c: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR as vector squares (sharp at any zoom); a full QR Code, never a Micro QR."""
    qr = segno.make_qr(url, error="m")
    matrix = list(qr.matrix)
    border = 4
    modules = len(matrix) + 2 * border
    step = size / modules
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                c.rect(
                    x + (col_index + border) * step,
                    y + size - (row_index + border + 1) * step,
                    step,
                    step,
                    stroke=0,
                    fill=1,
                )


def certificate_pdf(certification: Certification) -> bytes:
    """The certificate as PDF bytes."""
    font = _register_font()
    municipality = current_municipality()
    ward = municipality.name if municipality else ""
    url = verification_url(certification)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, initialFontName=font, initialFontSize=12)
    c.setTitle(f"修了証 {certification.number}")
    c.setAuthor(ward)
    c.setSubject(certification.event.title)
    width, height = A4

    c.setLineWidth(2)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
    c.setLineWidth(0.5)
    c.rect(18 * mm, 18 * mm, width - 36 * mm, height - 36 * mm)

    c.setFont(font, 11)
    c.drawRightString(width - 28 * mm, height - 32 * mm, f"修了証番号 {certification.number}")
    _centered(c, font, 40, height - 70 * mm, "修 了 証")
    _centered(c, font, 26, height - 105 * mm, f"{certification.full_name} 様")
    c.setLineWidth(0.7)
    c.line(50 * mm, height - 108 * mm, width - 50 * mm, height - 108 * mm)

    _centered(c, font, 14, height - 130 * mm, "あなたは次の講座を修了し、")
    _centered(c, font, 16, height - 142 * mm, f"「{certification.event.title}」")
    _centered(
        c, font, 14, height - 154 * mm, "ひきこもりサポーターとして認定されたことを証します。"
    )
    for i, line in enumerate(SUPPORTER_TEXT):
        _centered(c, font, 10.5, height - 172 * mm - i * 6 * mm, line)

    _centered(c, font, 14, 95 * mm, f"修了日 {wareki_date(certification.completed_at)}")
    _centered(c, font, 18, 78 * mm, ward)
    if municipality and municipality.programme_name:
        _centered(c, font, 11, 70 * mm, municipality.programme_name)

    qr_size = 34 * mm
    _qr(c, url, 28 * mm, 26 * mm, qr_size)
    c.setFont(font, 9)
    c.drawString(28 * mm + qr_size + 4 * mm, 26 * mm + qr_size - 8 * mm, "修了証の確認")
    c.drawString(28 * mm + qr_size + 4 * mm, 26 * mm + qr_size - 14 * mm, url)
    c.showPage()
    c.save()
    return buffer.getvalue()
