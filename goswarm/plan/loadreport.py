"""The HTML report of `goswarm load`: one self-contained page (inline SVG and CSS, no script, nothing fetched) with
throughput, latency percentiles and errors over time, and the CPU and memory of every task of the service on the
same time axis, the --during command marked on each chart. Pure: data in, text out."""
import html
from typing import Optional

from goswarm.plan import load, output

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 200, 28, 30
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 < value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def chart(title: str, series: dict, x_max: float, unit: str, marks: Optional[tuple] = None,
          fmt=lambda v: f"{v:g}") -> str:
    """An SVG line chart: series {name: [(t, y)]} over 0..x_max seconds; marks (start, end) shades the --during
    command's span."""
    y_max = nice_max(max((y for points in series.values() for _, y in points), default=0))
    x_max = x_max or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t):
        return LEFT + min(max(t, 0), x_max) / x_max * plot_w

    def y(v):
        return TOP + plot_h - v / y_max * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{LEFT}" y="16" class="title">{html.escape(title)} ({html.escape(unit)})</text>']
    if marks:
        start, end = marks
        end = x_max if end is None else end
        parts.append(f'<rect class="during" x="{x(start):.1f}" y="{TOP}" width="{max(x(end) - x(start), 1):.1f}" '
                     f'height="{plot_h}"><title>--during {start:.1f}-{end:.1f} s</title></rect>')
        parts.append(f'<text x="{x(start) + 3:.1f}" y="{TOP + 12}" class="mark">during</text>')
    for i in range(5):
        value = y_max * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="ylabel">{html.escape(fmt(value))}</text>')
    for i in range(6):
        t = x_max * i / 5
        label = f"{t:.0f}" if x_max >= 10 else f"{t:.1f}"
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 10}" class="xlabel">{label} s</text>')
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        if points:
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}">'
                         f'<title>{html.escape(name)}</title></polyline>')
        parts.append(f'<rect x="{LEFT + plot_w + 12}" y="{TOP + n * 16}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{LEFT + plot_w + 26}" y="{TOP + n * 16 + 9}" class="legend">'
                     f'{html.escape(name if len(name) <= 32 else name[:31] + "…")}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:940px}
h1{font-size:20px}table{border-collapse:collapse;margin:8px 0 20px}td,th{padding:3px 10px;text-align:left;
border-bottom:1px solid #ddd}svg{display:block;margin:8px 0 18px}.title{font-weight:600;font-size:13px}
.grid{stroke:#e4e4e4}.ylabel{text-anchor:end;font-size:11px;fill:#555}.xlabel{text-anchor:middle;font-size:11px;
fill:#555}.legend{font-size:11px}.during{fill:#f5c542;opacity:.25}.mark{font-size:11px;fill:#8a6d00}"""


def page(summary: dict, url: str, ticks: list, stats: list, during: Optional[dict], started: str,
         stats_error: Optional[str] = None) -> str:
    """The report. ticks: the generator's tick lines; stats: [(t, [TaskStats])] sampled during the run; during:
    {command, start_s, end_s, exit_code} or None; stats_error: why task stats are missing, if they are."""
    x_max = max([summary.get("duration_s") or 0] + [t["t"] for t in ticks])
    marks = (during["start_s"], during.get("end_s")) if during else None
    previous_t, throughput = 0.0, []
    if len(ticks) > 1 and ticks[-1]["t"] - ticks[-2]["t"] < 0.5:
        ticks = ticks[:-1]  # the last, partial interval: too short to say anything but noise
    for tick in ticks:
        span = max(tick["t"] - previous_t, 1e-3)
        throughput.append((tick["t"], tick["requests"] / span))
        previous_t = tick["t"]
    latency = {p: [(t["t"], t["latency_ms"][p]) for t in ticks if t["requests"]] for p in ("p50", "p95", "p99")}
    kinds = sorted({k for t in ticks for k in (t.get("errors") or {})})
    errors = {k: [(t["t"], (t.get("errors") or {}).get(k, 0)) for t in ticks] for k in kinds} or {"none": []}
    cpu, memory = {}, {}
    for t, rows in stats:
        for row in rows:
            name = f"{row.task} {row.container[:6]} ({row.node})"  # a redeploy's new task keeps the slot
            if row.cpu_percent is not None:
                cpu.setdefault(name, []).append((t, row.cpu_percent))
            if row.memory_bytes is not None:
                memory.setdefault(name, []).append((t, row.memory_bytes / 1e6))
    charts = [chart("Throughput", {"req/s": throughput}, x_max, "requests/s", marks, lambda v: f"{v:,.0f}"),
              chart("Latency percentiles", latency, x_max, "ms", marks),
              chart("Errors", errors, x_max, "per second", marks),
              chart("CPU of each task", cpu, x_max, "% of one CPU", marks),
              chart("Memory of each task", memory, x_max, "MB", marks)]
    latency_all = summary["latency_ms"]
    rows = [("URL", url), ("Started", started), ("Users", summary.get("users")),
            ("Duration", f"{summary['duration_s']:.1f} s"), ("Requests", f"{summary['requests']:,}"),
            ("Requests/s", f"{summary['rps']:,.1f}"),
            ("Latency (ms)", "  ".join(f"{k} {latency_all[k]:.2f}" for k in ("min", "p50", "p95", "p99", "max"))),
            ("Errors", ", ".join(f"{k} {v:,}" for k, v in load.error_kinds(summary.get("errors") or {})) or "none")]
    if during:
        end = "still running at the end" if during.get("end_s") is None else f"{during['end_s']:.1f} s"
        rows.append(("During", f"`{during['command']}` from {during['start_s']:.1f} s to {end}, exit "
                               f"{during.get('exit_code')}"))
    if stats_error:
        rows.append(("Task stats", f"not read: {stats_error}"))
    if summary.get("interrupted"):
        rows.append(("Interrupted", "the run was stopped before its duration: these figures cover it so far"))
    usage = load.task_usage(stats)
    usage_rows = "".join(_usage_row(u) for u in usage)
    table = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>goswarm load: {html.escape(url)}</title><style>{STYLE}</style></head><body>\n"
            f"<h1>goswarm load: {html.escape(url)}</h1>\n<table>{table}</table>\n" + "\n".join(charts) +
            "\n<h2>Tasks during the run</h2>\n<table><tr><th>Task</th><th>Node</th><th>CPU % mean</th>"
            f"<th>CPU % peak</th><th>Memory peak</th></tr>{usage_rows}</table>\n</body></html>\n")


def _usage_row(u: dict) -> str:
    mean = "-" if u["cpu_percent_mean"] is None else f"{u['cpu_percent_mean']:.1f}"
    peak = "-" if u["cpu_percent_max"] is None else f"{u['cpu_percent_max']:.1f}"
    return (f"<tr><td>{html.escape(u['task'])} {html.escape(u['container'][:6])}</td><td>{html.escape(u['node'])}</td>"
            f"<td>{mean}</td><td>{peak}</td>"
            f"<td>{output.size(u['memory_bytes_max'])}</td></tr>")
