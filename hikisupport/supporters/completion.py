"""The seam between check-in and certification.

Every change to someone's attendance — a check-in by QR, by name or as a walk-in, a tick from
the paper roster, an undo — ends with one call, in the same transaction, after the flush:

    completion.attendance_changed(registration, session)

(or, for a batch of check-ins, ``attendances_changed`` with all of them: the same rule, each
kind of read done once for the batch), which decides whether the person has now completed the
course (and is certified) or no longer has (and the certification that rested on that
attendance is withdrawn), and updates the lecture participation figures
(`reports.participation`). The rule itself is `supporters.services.decide` (and
``decide_many``); this module is the one name check-in depends on. An attendance counts while
its row exists and ``undone_at`` is NULL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Rule = Callable[[object, object], None]
_rule: Rule | None = None


def attendance_changed(registration, session) -> None:
    """Decide certification after `registration`'s attendance at `session` changed (and keep
    the lecture participation figures up to date)."""
    attendances_changed([(registration, session)])


def attendances_changed(changes: Sequence[tuple[object, object]]) -> None:
    """`attendance_changed` for several (registration, session) pairs at once (a batch of
    check-ins): the same rule, with one read of each kind for all of them."""
    from hikisupport.reports import participation

    participation.attendances_changed(changes)
    if _rule is not None:
        for registration, session in changes:
            _rule(registration, session)
        return
    from hikisupport.supporters.services import decide_many  # the rule needs the app's models

    decide_many([registration for registration, _ in changes])


@contextmanager
def use_rule(rule: Rule) -> Iterator[None]:
    """Run `rule` instead of the real one (a stand-in, for the seam's own tests)."""
    global _rule
    previous, _rule = _rule, rule
    try:
        yield
    finally:
        _rule = previous
