"""Statistics charts drawn with matplotlib (headless Agg): the trend of the estimate and the
main nationalities in one image a phone can read, cached per place, edition and language."""

from __future__ import annotations

import io
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

MAX_BARS = 7
WIDTH, HEIGHT, DPI = 7.2, 9.0, 100  # 720 x 900 px: portrait, like the phone it is read on
BLUE, ORANGE, GREY = "#1f5fa8", "#e07b00", "#555555"


@dataclass(frozen=True)
class ChartData:
    """What one chart shows; every label already in the reader's language."""

    title: str
    trend_title: str
    trend: tuple[tuple[int, int], ...]  # (year, estimate), oldest first
    bars_title: str
    bars: tuple[tuple[str, int], ...]  # (label, estimate), at most MAX_BARS
    source: str


def render(data: ChartData, number: Callable[[float], str]) -> bytes:
    """The chart as PNG bytes; `number` formats values in the reader's language."""
    # Imported here: matplotlib costs ~0.3 s to import, paid only by processes that draw.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    top, bottom = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.25]})
    # Long names ("Región de Aysén del General Carlos Ibáñez del Campo") wrap, never clip.
    title = textwrap.fill(data.title, 34)
    figure.suptitle(title, fontsize=22, fontweight="bold", x=0.04, ha="left")

    years = [str(year) for year, _ in data.trend]
    values = [value for _, value in data.trend]
    top.set_title(data.trend_title, fontsize=16, loc="left")
    top.plot(years, values, color=BLUE, linewidth=3.5, marker="o", markersize=9)
    peak = max(values) if values else 1
    top.set_ylim(0, peak * 1.25)
    for x, value in zip(years, values, strict=True):
        top.annotate(
            number(value),
            (x, value),
            textcoords="offset points",
            xytext=(0, 10),
            ha="center",
            fontsize=13,
        )
    top.margins(x=0.08)
    top.tick_params(axis="x", labelsize=14)
    top.set_yticks([])
    for side in ("top", "right", "left"):
        top.spines[side].set_visible(False)

    bars = list(data.bars[:MAX_BARS])
    labels = [textwrap.fill(label, 14) for label, _ in bars][::-1]
    counts = [count for _, count in bars][::-1]
    bottom.set_title(data.bars_title, fontsize=16, loc="left")
    drawn = bottom.barh(labels, counts, color=ORANGE, height=0.65)
    widest = max(counts) if counts else 1
    bottom.set_xlim(0, widest * 1.35)
    for bar, count in zip(drawn, counts, strict=True):
        bottom.text(
            bar.get_width() + widest * 0.02,
            bar.get_y() + bar.get_height() / 2,
            number(count),
            va="center",
            fontsize=13,
        )
    bottom.tick_params(axis="y", labelsize=14, length=0)
    bottom.set_xticks([])
    for side in ("top", "right", "bottom"):
        bottom.spines[side].set_visible(False)

    figure.text(0.04, 0.015, data.source, fontsize=11, color=GREY, ha="left", wrap=True)
    lines = title.count("\n") + 1
    figure.subplots_adjust(
        left=0.27, right=0.96, top=0.9 - 0.045 * (lines - 1), bottom=0.09, hspace=0.35
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


class ChartCache:
    """Rendered charts by key (edition, place, language): a chart is drawn once per edition.

    Bounded (LRU); a lock because charts are drawn in worker threads."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
