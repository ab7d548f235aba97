"""A lottery draw (抽選) for an event: the seed makes it reproducible."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db


class LotteryDraw(db.Model):
    __tablename__ = "lottery_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), unique=True
    )
    # 128 random bits as hex; with `algorithm` it fixes the whole outcome.
    seed: Mapped[str] = mapped_column(sa.String(64))
    algorithm: Mapped[str] = mapped_column(sa.String(40))
    applicants: Mapped[int]
    winners: Mapped[int]
    # The registration ids in draw order: winners first, then the waitlist.
    order: Mapped[list[int]] = mapped_column(sa.JSON)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    @property
    def algorithm_label(self) -> str:
        return ALGORITHM_LABELS.get(self.algorithm, self.algorithm)


# What each draw method means, in words staff and auditors read (never the code name alone).
ALGORITHM_LABELS = {
    "python-random-shuffle-v1": (
        "申込者を申込ID順（登録した順）に並べ、シード値から作った乱数で並べ替える方法"
        "（Python の random.Random(シード値).shuffle）"
    ),
}
