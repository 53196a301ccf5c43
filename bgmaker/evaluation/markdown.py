"""Markdown tables, written one way by every report (evaluation, priors, humanize, experiments).

Cells arrive as text: each report formats its own numbers (its digits, its mark for a missing figure), and
this module only lays them out, so a change of layout is made once.
"""


def table(header, rows, align):
    """The lines of a Markdown table: the header, its alignment rule, then one line per row.

    header and each row: a sequence of cells (see row). align: one letter per column, "l" for a column of
    text (rule `---`) or "r" for one of numbers (rule `---:`).
    """
    return [row(header), "|" + "".join("---:|" if a == "r" else "---|" for a in align)] + [row(r) for r in rows]


def row(cells):
    """One line of a table: `| a | b |`.

    A cell of None is drawn as `| |` and an empty string as `|  |`; Markdown shows both as an empty cell,
    and both spellings are kept so that the committed reports regenerate byte for byte.
    """
    return "|" + "|".join(" " if cell is None else f" {cell} " for cell in cells) + "|"
