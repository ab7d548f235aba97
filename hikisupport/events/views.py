"""Resident pages: the list of events and one event's details."""

from flask import Blueprint, render_template

from hikisupport.registration import availability, services

bp = Blueprint("events", __name__)


@bp.get("/")
def home():
    """The front page is the list of events."""
    return events_list()


@bp.get("/events")
def events_list():
    """Upcoming lectures and courses with seats left."""
    return render_template("events/list.html", events=availability.upcoming_events())


@bp.get("/events/<id:event_id>")
def event_detail(event_id: int):
    """One event: its sessions, venue, who may apply, the registration period."""
    event = services.public_event(event_id)
    return render_template(
        "events/detail.html", event=event, availability=availability.event_availability(event)
    )
