"""Charts as text, for Dagster's Markdown metadata: the UI renders Markdown and code blocks but
no images, and a plotting library would be the heaviest dependency for a few pictures."""

from __future__ import annotations

from collections.abc import Sequence

EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"


def bar(value: float, low: float, high: float, width: int = 20) -> str:
    """A horizontal bar of ``value`` on a ``low..high`` scale, ``width`` characters at most."""
    span = high - low or 1.0
    eighths = round(max(0.0, min(1.0, (value - low) / span)) * width * 8)
    whole, part = divmod(eighths, 8)
    return (FULL * whole + (EIGHTHS[part] if part else "")).ljust(width)


def diverging_bar(value: float, limit: float, width: int = 10) -> str:
    """``value`` as a bar left (negative) or right (positive) of a centre ``│``, each side
    ``width`` characters for ``limit``."""
    side = bar(abs(value), 0.0, limit or 1.0, width).rstrip()
    return f"{side:>{width}}│{'':<{width}}" if value < 0 else f"{'':>{width}}│{side:<{width}}"


def marker_strip(predicted: float, observed: float, width: int = 21) -> str:
    """A 0..1 strip with ``│`` at the predicted rate and ``●`` at the observed one (``◉`` when
    they meet): the closer the two marks, the better calibrated."""
    cells = ["·"] * width
    at = [round(v * (width - 1)) for v in (predicted, observed)]
    cells[at[0]] = "│"
    cells[at[1]] = "◉" if at[0] == at[1] else "●"
    return "".join(cells)


def area_chart(values: Sequence[float], height: int = 10, width: int = 72, label: str = "{:,.0f}") -> str:
    """``values`` in order as a filled area between zero and the value, ``height`` rows tall and at
    most ``width`` columns wide (each column is the last value of its share of the points). A
    cell is filled when the area covers most of it; the zero line shows as ``─`` where it is
    not; the top, zero and bottom values label the rows on the left."""
    if not values:
        return "(no points)"
    columns = min(width, len(values))
    sampled = [values[min(len(values) - 1, (i + 1) * len(values) // columns - 1)] for i in range(columns)]
    top, bottom = max(0.0, *sampled), min(0.0, *sampled)
    step = ((top - bottom) or 1.0) / height
    zero = min(height - 1, int(top / step))

    def filled(value: float, row: int) -> bool:
        high = top - row * step
        low, reach = sorted((0.0, value))
        return min(high, reach) - max(high - step, low) > step / 2

    labels = {0: label.format(top), zero: label.format(0.0), height - 1: label.format(bottom)}
    margin = max(len(text) for text in labels.values())
    lines = []
    for row in range(height):
        cells = "".join(FULL if filled(v, row) else ("─" if row == zero else " ") for v in sampled)
        lines.append(f"{labels.get(row, ''):>{margin}} ┤{cells}")
    return "\n".join(lines)
