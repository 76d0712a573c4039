#!/usr/bin/env python3
"""The report of bench/scaling.sh: a Markdown table and an SVG plot (standard library only).

    scaling_report.py VALUES.tsv REPORT.md PLOT.svg HEADER SVG_NAME

VALUES.tsv has one line per measured value: measure, runtime, size, value (NA if missing).
Each figure reported is the median of the values of one (measure, runtime, size).
"""

import statistics
import sys
from collections import defaultdict

# Measures in report order: key, family, operation, unit, and how each runtime does it.
MEASURES = [
    ("timers_insert", "pending timers", "insert", "ns",
     {"epoll-rt": "binary heap push: O(log n) at worst, O(1) on average for scattered deadlines",
      "tokio": "timing wheel: O(1)"}),
    ("timers_cancel", "pending timers", "cancel", "ns",
     {"epoll-rt": "slab slot emptied, heap entry left stale: O(1), plus a sweep of the heap "
                  "once stale entries outnumber live ones (amortised O(1))",
      "tokio": "timing wheel: O(1)"}),
    ("timers_fire", "pending timers", "fire", "ns",
     {"epoll-rt": "binary heap pop: O(log n), logarithmic", "tokio": "timing wheel: O(1)"}),
    ("tasks_spawn", "live tasks", "spawn", "ns", {}),
    ("tasks_wake", "live tasks", "wake", "ns", {}),
    ("tasks_poll", "live tasks", "poll", "ns", {}),
    ("conn_cpu", "idle connections", "server CPU per request, 1 active", "µs", {}),
    ("conn_rss", "idle connections", "RSS per idle connection", "bytes", {}),
]
COLORS = {"epoll-rt": "#d62728", "tokio": "#1f77b4"}
# Panel titles of the plot, short enough for a 300-pixel panel.
TITLES = {
    "conn_cpu": "idle connections: CPU per request, µs",
    "conn_rss": "idle connections: RSS per connection, B",
}
FLAT = 1.5


def read(path):
    values = defaultdict(list)
    for line in open(path, encoding="utf-8"):
        measure, runtime, size, value = line.rstrip("\n").split("\t")
        try:
            values[(measure, runtime, int(size))].append(float(value))
        except ValueError:
            pass  # NA: a run that did not report this figure
    return values


def fmt(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def power(n):
    """10³ for 1000, else the number with thousands separators."""
    exp = len(str(n)) - 1
    if n == 10**exp:
        return "10" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(exp))
    return f"{n:,}"


def main():
    values_path, report_path, svg_path, header, svg_name = sys.argv[1:6]
    values = read(values_path)
    runtimes = []
    for (_, runtime, _) in values:
        if runtime not in runtimes:
            runtimes.append(runtime)
    runtimes.sort(key=lambda r: (r != "epoll-rt", r))
    sizes = defaultdict(set)
    for (measure, _, size) in values:
        sizes[measure].add(size)

    def median(measure, runtime, size):
        v = values.get((measure, runtime, size))
        return statistics.median(v) if v else None

    out = [f"# Scaling, {header.split(',')[0].split()[0]}", "", header, ""]
    out += [
        "Per-operation cost as work grows, each figure the median of the runs (see",
        "`bench/scaling.sh` for what one operation is). Times are CPU time, not wall time:",
        "the benchmark thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`) for timers and tasks,",
        "and the echo server's time on a CPU (`/proc/<pid>/task/*/schedstat`, user and",
        "system) per request for the connections, so time spent waiting for a CPU on a loaded",
        "machine is in neither. \"Flat\": the figure at the largest size is at most 1.5× the",
        "figure at the smallest.",
        "",
    ]
    families = []
    for m in MEASURES:
        if m[1] not in families and any(k[0] == m[0] for k in values):
            families.append(m[1])
    for family in families:
        family_measures = [m for m in MEASURES if m[1] == family]
        family_sizes = sorted(set().union(*(sizes[m[0]] for m in family_measures)))
        out.append(f"## {family[0].upper()}{family[1:]}")
        out.append("")
        out.append("| operation | runtime | " + " | ".join(power(s) for s in family_sizes)
                   + " | largest / smallest | flat? | how it is done |")
        out.append("|---|---|" + "---:|" * len(family_sizes) + "---:|---|---|")
        for key, _, op, unit, how in family_measures:
            for runtime in runtimes:
                figures = [median(key, runtime, s) for s in family_sizes]
                if all(f is None for f in figures):
                    continue
                first, last = figures[0], figures[-1]
                if first and last is not None:
                    ratio = last / first
                    verdict = "flat" if ratio <= FLAT else "**not flat**"
                    ratio_text = f"{ratio:.2f}"
                else:
                    verdict, ratio_text = "–", "–"
                out.append(f"| {op}, {unit} | {runtime} | " + " | ".join(fmt(f) for f in figures)
                           + f" | {ratio_text} | {verdict} | {how.get(runtime, '')} |")
        out.append("")
    out.append(f"The plot: `{svg_name}`.")
    out.append("")
    out.append("Every run's figures (measure, runtime, size: values):")
    out.append("")
    out.append("```text")
    for key in sorted(values, key=lambda k: (k[0], k[1], k[2])):
        out.append(f"{key[0]} {key[1]} {key[2]}: " + " ".join(fmt(v) for v in values[key]))
    out.append("```")
    with open(report_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")

    write_svg(svg_path, header, runtimes, sizes, median)


def write_svg(path, header, runtimes, sizes, median):
    import math

    panels = [m for m in MEASURES if sizes[m[0]]]
    cols, pw, ph = 3, 300, 210
    rows = (len(panels) + cols - 1) // cols
    width, height = cols * pw + 20, rows * ph + 70
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-size="13">Cost per operation as work grows '
        f'(median CPU time; dashed: 1.5× the smallest size)</text>',
    ]
    # Legend.
    x = 10
    for runtime in runtimes:
        color = COLORS.get(runtime, "#2ca02c")
        svg.append(f'<line x1="{x}" y1="34" x2="{x + 20}" y2="34" stroke="{color}" stroke-width="2"/>')
        svg.append(f'<text x="{x + 25}" y="38">{runtime}</text>')
        x += 100
    svg.append(f'<text x="{x}" y="38" fill="#555">{header.split(".")[0]}</text>')

    for i, (key, family, op, unit, _) in enumerate(panels):
        ox, oy = 10 + (i % cols) * pw, 50 + (i // cols) * ph
        left, right, top, bottom = ox + 55, ox + pw - 15, oy + 25, oy + ph - 30
        xs = sorted(sizes[key])
        series = {r: [(s, median(key, r, s)) for s in xs] for r in runtimes}
        ys = [v for pts in series.values() for (_, v) in pts if v is not None]
        if not ys:
            continue
        ymax = max(ys) * 1.15
        for pts in series.values():
            if pts and pts[0][1] is not None:
                ymax = max(ymax, pts[0][1] * FLAT * 1.1)
        lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])

        def px(s):
            return left + (right - left) * ((math.log10(s) - lx0) / (lx1 - lx0) if lx1 > lx0 else 0.5)

        def py(v):
            return bottom - (bottom - top) * v / ymax

        title = TITLES.get(key, f"{family}: {op}, {unit}")
        svg.append(f'<text x="{ox + 5}" y="{oy + 14}" font-weight="bold">{title}</text>')
        svg.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>')
        svg.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="black"/>')
        for s in xs:
            svg.append(f'<line x1="{px(s):.1f}" y1="{bottom}" x2="{px(s):.1f}" y2="{bottom + 4}" stroke="black"/>')
            svg.append(f'<text x="{px(s):.1f}" y="{bottom + 16}" text-anchor="middle">{power(s)}</text>')
        for k in range(5):
            v = ymax * k / 4
            svg.append(f'<line x1="{left - 4}" y1="{py(v):.1f}" x2="{left}" y2="{py(v):.1f}" stroke="black"/>')
            svg.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
        for runtime, pts in series.items():
            color = COLORS.get(runtime, "#2ca02c")
            pts = [(s, v) for (s, v) in pts if v is not None]
            if not pts:
                continue
            line = " ".join(f"{px(s):.1f},{py(v):.1f}" for (s, v) in pts)
            svg.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
            for (s, v) in pts:
                svg.append(f'<circle cx="{px(s):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
            limit = pts[0][1] * FLAT
            svg.append(f'<line x1="{left}" y1="{py(limit):.1f}" x2="{right}" y2="{py(limit):.1f}" '
                       f'stroke="{color}" stroke-dasharray="4 3" stroke-width="1"/>')
    svg.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
