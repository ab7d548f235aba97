"""The QR ticket decodes (zxing-cpp) to the ticket code; the calendar file parses."""

import io
import re
from base64 import b64decode
from urllib.parse import unquote

import cairosvg
import sqlalchemy as sa
import zxingcpp
from icalendar import Calendar
from PIL import Image

from hikisupport.core.extensions import db
from hikisupport.models import Registration
from hikisupport.registration.tickets import TICKET_ALPHABET, TICKET_LENGTH, ticket_png


def decode(png: bytes):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return zxingcpp.read_barcodes(image)


def test_qr_on_the_personal_page_decodes_to_the_ticket_code(make_event, sign_up, client):
    event = make_event()
    html = client.get(sign_up(event.id).headers["Location"]).get_data(as_text=True)
    registration = db.session.scalar(sa.select(Registration))
    src = re.search(r'<img src="(data:image/svg\+xml[^"]+)"', html).group(1)
    header, _, payload = src.partition(",")
    svg = b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()
    png = cairosvg.svg2png(bytestring=svg, background_color="white", output_width=400)
    (result,) = decode(png)
    assert result.text == registration.ticket
    assert result.format == zxingcpp.BarcodeFormat.QRCode  # a full QR, not Micro QR
    assert f"受付番号 {registration.ticket}" in html  # alt text names the code


def test_qr_png_in_the_mail_decodes(make_event, sign_up):
    event = make_event()
    sign_up(event.id)
    registration = db.session.scalar(sa.select(Registration))
    (result,) = decode(ticket_png(registration.ticket))
    assert result.text == registration.ticket
    assert result.format == zxingcpp.BarcodeFormat.QRCode


def test_ticket_codes_are_short_and_unambiguous(make_event, sign_up):
    event = make_event(capacity=30)
    for i in range(20):
        sign_up(event.id, email=f"p{i}@example.jp")
    codes = db.session.scalars(sa.select(Registration.ticket)).all()
    assert len(set(codes)) == 20
    for code in codes:
        assert len(code) == TICKET_LENGTH and set(code) <= set(TICKET_ALPHABET)


def test_calendar_file_has_every_session_in_tokyo_time(make_event, sign_up, client):
    event = make_event(sessions=3)
    location = sign_up(event.id).headers["Location"]
    response = client.get(location + "/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    starts = [v.decoded("dtstart") for v in calendar.walk("VEVENT")]
    assert starts == [s.starts_at for s in event.sessions]
    assert all(s.tzinfo.key == "Asia/Tokyo" for s in starts)
    assert b"DTSTART;TZID=Asia/Tokyo:" in response.data
