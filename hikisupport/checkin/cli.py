"""`flask --app hikisupport device …`: check-in devices."""

from __future__ import annotations

import click

from hikisupport.checkin import services
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.transaction import writing
from hikisupport.models import Event


@click.group("device", help="Check-in devices (tablets).")
def device_cli():
    pass


@device_cli.command("create")
@click.option("--event", "event_ids", type=int, multiple=True, required=True, help="Event id.")
@click.option("--name", required=True, help="What staff call the tablet (e.g. 受付1).")
def device_create(event_ids, name):
    """Create a device for the events; its token is the last word printed."""
    try:
        with writing():
            events = [db.session.get(Event, i) for i in event_ids]
            missing = [i for i, e in zip(event_ids, events, strict=True) if e is None]
            if missing:
                raise click.ClickException(f"no event {', '.join(map(str, missing))}")
            device = services.create_device(name, events)
            token = services.issue_token(device)
            described = (
                f"{device.name} (device {device.id}, events {', '.join(map(str, event_ids))})"
            )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Check-in token for {described}, shown once; revoke at /staff/devices: {token}")
