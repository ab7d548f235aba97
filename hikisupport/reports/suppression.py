"""Small-cell suppression for the breakdown tables (秘匿処理).

A cell of 1 up to (threshold − 1) persons is shown as 「5未満」 (primary suppression). Then, as
long as a row or a column — its total included — has exactly one hidden cell, the smallest
cell still shown in that line is hidden too (complementary suppression), so no total minus the
cells shown gives a hidden one away. The column totals are the published indicator (new
persons per fiscal year) and the grand total its cumulative figure: they are always shown, so
every column, and the column of row totals, must hide none or at least two of its cells.
A zero reveals nobody and is shown as 0, unless it has to be hidden to protect another cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOTAL = "計"


@dataclass
class Table:
    rows: list[str]
    columns: list[int]
    values: dict[tuple[str, object], int]  # (row, column or TOTAL) → persons
    column_totals: dict[int, int]
    threshold: int
    hidden: set[tuple[str, object]] = field(default_factory=set)

    def value(self, row: str, column) -> int:
        return self.values.get((row, column), 0)

    def is_hidden(self, row: str, column) -> bool:
        return (row, column) in self.hidden

    def shown(self, row: str, column) -> int | None:
        """The value to publish, or None for 「5未満」."""
        return None if self.is_hidden(row, column) else self.value(row, column)

    @property
    def grand_total(self) -> int:
        return sum(self.column_totals.get(c, 0) for c in self.columns)

    def lines(self) -> list[list[tuple[str, object]]]:
        """Every set of cells tied by a published total: each row with its total, each column
        (its total is published), and the column of row totals (the grand total is)."""
        lines = [[(r, c) for c in [*self.columns, TOTAL]] for r in self.rows]
        lines += [[(r, c) for r in self.rows] for c in self.columns]
        lines.append([(r, TOTAL) for r in self.rows])
        return lines


def suppress(
    rows: list[str],
    columns: list[int],
    cells: dict[tuple[str, int], int],
    column_totals: dict[int, int],
    threshold: int,
) -> Table:
    values = {(r, c): cells.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        values[(r, TOTAL)] = sum(values[(r, c)] for c in columns)
    table = Table(rows, columns, values, column_totals, threshold)
    table.hidden = {cell for cell, v in values.items() if 0 < v < threshold}
    lines = table.lines()
    lines_of: dict[tuple, list[int]] = {}
    for index, line in enumerate(lines):
        for cell in line:
            lines_of.setdefault(cell, []).append(index)
    hidden_in = [sum(1 for cell in line if cell in table.hidden) for line in lines]
    # A work list of the lines with exactly one hidden cell; hiding a cell updates the counts
    # of its own lines only.
    pending = [i for i, n in enumerate(hidden_in) if n == 1]
    while pending:
        index = pending.pop()
        if hidden_in[index] != 1:
            continue
        candidates = [cell for cell in lines[index] if cell not in table.hidden]
        if not candidates:
            continue
        chosen = min(candidates, key=lambda cell: values[cell])
        table.hidden.add(chosen)
        for other in lines_of[chosen]:
            hidden_in[other] += 1
            if hidden_in[other] == 1:
                pending.append(other)
    return table


def reveals_a_hidden_cell(table: Table) -> bool:
    """True if some published total minus the cells shown pins down a single hidden cell.
    (A line of one cell is its published total itself — a breakdown into one category —
    and tells nothing the indicator does not.)"""
    return any(
        len(line) > 1 and sum(1 for cell in line if cell in table.hidden) == 1
        for line in table.lines()
    )
