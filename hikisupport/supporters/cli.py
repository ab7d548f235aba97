"""`flask --app hikisupport retention purge [--dry-run]`."""

from __future__ import annotations

import click

from hikisupport.core.japanese import to_jst
from hikisupport.core.transaction import reading, writing


@click.group("retention", help="Anonymise personal data after the retention period.")
def retention_cli():
    pass


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List who would be anonymised; change nothing.")
def purge_command(dry_run: bool):
    """Anonymise non-supporters N fiscal years after their last event (setting, default 3)."""
    from hikisupport.reports.services import count_supporters
    from hikisupport.supporters import retention

    with reading():
        before = count_supporters().total
    with writing():
        candidates = retention.purge(dry_run=dry_run)
        years = retention.retention_years()
    with reading():
        after = count_supporters().total
    for c in candidates:
        click.echo(
            f"person {c.person_id}\t{c.name}\tlast event {to_jst(c.last_event_at):%Y-%m-%d}"
            f"\tregistrations {c.registrations}"
        )
    verb = "would be anonymised" if dry_run else "anonymised"
    click.echo(f"{len(candidates)} person(s) {verb} (retention: {years} fiscal years)")
    click.echo(f"supporters counted: {before} before, {after} after")
    if before != after:
        raise click.ClickException("the supporter count changed: report this as a bug")
