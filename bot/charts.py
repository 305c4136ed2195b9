"""PNG charts for /stats and /retention: matplotlib's object API on the Agg canvas (no pyplot, no global figure
state), drawn in a worker process (ChartWorker): matplotlib holds the GIL through its long drawing calls, so on a
thread of the bot's own process it held up every other group's updates (bench.chart_latency). Plain data in, PNG
bytes out: the drawing functions and their arguments are pickled to the worker."""
from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import signal
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from typing import Any

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1200, 900, 100  # pixels of every chart
FOOTNOTE_COLUMNS = 230  # Latin characters at the footnote's size across the chart
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC")

# matplotlib (and its font scan) is loaded in the worker (at its first chart, or its warm-up a minute after the bot
# starts), never in the bot: importing it is about half of a start's time. The lock is for a caller drawing in its own
# process (tests compare a chart drawn here with the one the worker sent).
_LOAD = threading.Lock()
_MPL: dict[str, Any] = {}


def _matplotlib() -> dict[str, Any]:
    with _LOAD:
        if not _MPL:
            import matplotlib

            matplotlib.use("Agg")  # never a GUI backend, whatever the environment says
            from matplotlib import dates, font_manager
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.collections import PolyCollection
            from matplotlib.figure import Figure

            cjk = _find_cjk(font_manager)
            # Set once, before anything is drawn. Latin text keeps matplotlib's own font; only glyphs it lacks
            # (Chinese) fall back to the CJK font, glyph by glyph, so an English chart costs what it did without one.
            if cjk:
                matplotlib.rcParams["font.family"] = [*matplotlib.rcParams["font.family"], cjk]
            _MPL.update(Figure=Figure, FigureCanvasAgg=FigureCanvasAgg, PolyCollection=PolyCollection, dates=dates, cjk=cjk)
        return _MPL


def _find_cjk(font_manager: Any) -> str | None:
    """matplotlib's font cache does not notice fonts installed after it was built, so the system's fonts are read
    again once before giving up."""
    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    found = known()
    if found is None:
        seen = {f.fname for f in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in seen:
                try:
                    font_manager.fontManager.addfont(path)
                except Exception:  # an unreadable font file is skipped, as matplotlib's own scan does
                    log.debug("font %s skipped", path, exc_info=True)
        found = known()
    return found


def cjk_font() -> str | None:
    """A font that draws Chinese, if the machine has one (else Chinese labels would be empty boxes)."""
    return _matplotlib()["cjk"]


def can_draw(lang: str) -> bool:
    return lang != "zh" or cjk_font() is not None


@dataclass(frozen=True)
class StatsLabels:
    title: str
    active: str
    messages: str
    heatmap: str
    weekdays: tuple[str, ...]
    hour: str
    footnote: str


@dataclass(frozen=True)
class RetentionLabels:
    title: str
    week: str
    footnote: str


def _figure() -> Any:
    mpl = _matplotlib()
    fig = mpl["Figure"](figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    mpl["FigureCanvasAgg"](fig)
    return fig


def warm_up() -> bool:
    """In the worker: load matplotlib and its fonts and draw once, so the first /stats after a start pays none of it
    (a worker's first chart took 660 ms, its second 230 ms)."""
    fig = _figure()
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.plot([0, 1], [0, 1])
    ax.set_title("warm")
    _png(fig)
    return True


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches: the size stays exactly WIDTH × HEIGHT. A light compression: a chart is a few flat colours, so
    # the file stays small, and the deepest level costs more time than all the drawing.
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def _footnote(fig: Figure, text: str) -> None:
    """The definitions under a chart, wrapped here (a Chinese character is two columns wide): matplotlib's own
    wrap measures the text word by word and cost a third of the drawing."""
    lines, line, width = [], "", 0
    for word in text.replace("。", "。 ").split(" "):
        w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in word) + 1
        if line and width + w > FOOTNOTE_COLUMNS:
            lines.append(line.rstrip())
            line, width = "", 0
        while w > FOOTNOTE_COLUMNS:  # a Chinese sentence has no spaces: cut it by width
            cut, used = 0, 0
            while cut < len(word) and used + (2 if unicodedata.east_asian_width(word[cut]) in "WF" else 1) <= FOOTNOTE_COLUMNS - width:
                used += 2 if unicodedata.east_asian_width(word[cut]) in "WF" else 1
                cut += 1
            lines.append((line + word[:cut]).rstrip())
            line, width, word = "", 0, word[cut:]
            w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in word) + 1
        line += word + " "
        width += w
    if line.strip():
        lines.append(line.rstrip())
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, color="#555555", va="bottom")


def stats_chart(days: list[date], active: list[int], messages: list[int], grid: list[list[int]],
                labels: StatsLabels, lang: str = "en") -> bytes:
    """Active members (line) and messages (bars) per day, above a weekday × hour heat-map of messages."""
    fig = _figure()
    top = fig.add_axes((0.08, 0.55, 0.84, 0.37))
    bottom = fig.add_axes((0.08, 0.12, 0.84, 0.33))
    bars = top.twinx()
    top.set_zorder(bars.get_zorder() + 1)
    top.patch.set_visible(False)
    top.plot(days, active, color="#d1495b", marker="o" if len(days) <= 31 else None, linewidth=2, label=labels.active)
    # The bars as one collection of rectangles: bar() makes an artist per day, and 90 of them were a fifth of the
    # drawing.
    mpl, x = _matplotlib(), _matplotlib()["dates"].date2num(days)
    bars.add_collection(mpl["PolyCollection"](
        [((d - 0.4, 0), (d - 0.4, m), (d + 0.4, m), (d + 0.4, 0)) for d, m in zip(x, messages)],
        facecolors="#c7d7ee", edgecolors="none", label=labels.messages, zorder=1))
    bars.autoscale_view()
    bars.set_ylabel(labels.messages)
    top.set_ylabel(labels.active)
    top.set_ylim(bottom=0)
    bars.set_ylim(bottom=0)
    top.set_title(labels.title)
    top.tick_params(axis="x", labelrotation=30, labelsize=8)
    handles = top.get_legend_handles_labels()[0] + bars.get_legend_handles_labels()[0]
    top.legend(handles, [labels.active, labels.messages], loc="upper left", fontsize=8)
    image = bottom.imshow(grid, aspect="auto", cmap="YlOrRd", interpolation="nearest")
    bottom.set_yticks(range(7), labels.weekdays)
    bottom.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)])
    bottom.set_xlabel(labels.hour)
    bottom.set_title(labels.heatmap)
    fig.colorbar(image, ax=bottom, fraction=0.03, pad=0.01)
    _footnote(fig, labels.footnote)
    return _png(fig)


def retention_chart(weeks: list[str], shares: list[list[float | None]], labels: RetentionLabels, lang: str = "en") -> bytes:
    """Cohorts (rows) × weeks since joining (columns), shaded by the share retained; unfinished weeks blank."""
    fig = _figure()
    ax = fig.add_axes((0.12, 0.15, 0.8, 0.75))
    values = [[float("nan") if v is None else v * 100 for v in row] for row in shares]
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=100, interpolation="nearest")
    columns = len(shares[0]) if shares else 0
    ax.set_xticks(range(columns), [f"W+{n + 1}" for n in range(columns)])
    ax.set_yticks(range(len(weeks)), weeks)
    ax.set_xlabel(labels.week)
    ax.set_title(labels.title)
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            if v == v:  # not NaN
                ax.text(c, r, f"{v:.0f}%", ha="center", va="center", fontsize=8, color="white" if v > 55 else "black")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    _footnote(fig, labels.footnote)
    return _png(fig)


# The worker's CPU priority below the bot's (Unix niceness, added to the bot's own, at most 19). On a 2-core machine
# the worker's start (an interpreter, matplotlib and its fonts: about a second of a core, a minute after the bot's
# start) and each chart compete with the event loop and the database writer for the cores; at 10 the worker gets
# about a tenth of a core the bot wants, and all of an idle one.
WORKER_NICENESS = 10


class DrawFailed(Exception):
    """The chart could not be drawn: the drawing raised, the worker died, or it took longer than the timeout."""


def _worker_start(parent: int) -> None:
    """In the worker, before its first chart. Ctrl-C in a terminal reaches the whole process group: the bot stops the
    worker itself, in order. And a worker whose bot was killed (no clean stop) ends within a second instead of
    lingering: it is the bot's child, so its parent changes when the bot is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # no nice() here (Windows), or not allowed: drawn at the bot's priority
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ChartWorker:
    """One worker process that draws charts, started at the first chart or by warm() (a running bot warms it a minute
    after its start: bot.app.WARM_CHART_WORKER_AFTER), "spawn"ed (a fork of a threaded asyncio process can inherit a lock held by another
    thread), replaced when it dies or overruns `timeout` (it is killed then), stopped with the application. One
    worker: the machine's other core stays the bot's, and a group's chart is cached (StatsService.chart), so charts
    rarely queue."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._fonts: dict[str, bool] = {}
        self._warming: asyncio.Task | None = None

    def warm_later(self, delay: float) -> None:
        """Start the worker and draw once in it `delay` seconds from now, in the background (a minute after the bot's
        start: not in its way, and a bot stopped sooner never starts it)."""
        async def warm() -> None:
            await asyncio.sleep(delay)
            if self._pool is None:  # a chart asked for meanwhile has started it already
                try:
                    await self.run(warm_up)
                except DrawFailed:  # logged by run(); the next chart starts a new worker
                    pass

        if self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(warm(), name="chart worker warm-up")

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_start, initargs=(os.getpid(),))
        return self._pool

    def pids(self) -> list[int]:
        """The worker's process id, while it runs (tests kill it to show a crash is survived)."""
        return [p.pid for p in list(((self._pool and self._pool._processes) or {}).values()) if p.is_alive()]

    async def run(self, draw: Callable[..., Any], *args: Any) -> Any:
        """draw(*args) in the worker. DrawFailed if it raises, the worker dies or `timeout` passes (then the worker is
        killed, and the next chart starts a new one)."""
        pool = self._executor()
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(pool, draw, *args), self.timeout)
        except (BrokenProcessPool, TimeoutError) as exc:
            log.warning("chart worker %s: replaced", "timed out" if isinstance(exc, TimeoutError) else "died")
            await self._retire(pool)
            raise DrawFailed(str(exc) or type(exc).__name__) from exc
        except Exception as exc:  # the drawing itself failed; the worker is fine
            log.exception("chart drawing failed")
            raise DrawFailed(str(exc)) from exc

    async def can_draw(self, lang: str) -> bool:
        """The worker has a font for `lang` (asked once: the machine's fonts do not change while it runs)."""
        if lang not in self._fonts:
            self._fonts[lang] = await self.run(can_draw, lang)
        return self._fonts[lang]

    async def _retire(self, pool: ProcessPoolExecutor, grace: float = 0) -> None:
        """Stop a pool and reap its process: asked to stop, waited for `grace` seconds, then killed."""
        if self._pool is pool:
            self._pool = None
        processes = list((pool._processes or {}).values())  # 3.11 has no public way to reach them
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if grace:
                await asyncio.to_thread(p.join, grace)
            if p.is_alive():
                p.kill()
            await asyncio.to_thread(p.join)
        await asyncio.to_thread(pool.shutdown, True)

    async def close(self) -> None:
        """At the application's stop: the worker ends (a chart being drawn may finish, within the timeout)."""
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
            self._warming = None
        if self._pool is not None:
            await self._retire(self._pool, grace=self.timeout)
