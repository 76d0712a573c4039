#!/usr/bin/env python3
"""Draws an epoll-rt trace file (EPOLL_RT_TRACE=file.json, Chrome trace format) as an SVG
timeline, with the Python standard library only.

    python3 docs/tools/trace_svg.py TRACE.json > timeline.svg

One track per runtime thread (its `thread_name` metadata event names it). Spans (`"ph":"X"`)
are boxes: `epoll_wait` grey, task polls blue (`Ready` dark blue). Instants (`"ph":"i"`) are
ticks: wakes red, readiness green, cancels black. Time runs left to right, at a scale that
shows the polls; a stretch longer than a millisecond inside one span (a wait, or a long
poll) in which nothing else happens is cut out and drawn as a gap labelled with its length, so a 300 ms sleep does not hide the
microseconds of work around it (a span that crosses a cut is drawn across it). The output depends only on the trace file, so the picture
in the guide is the same on every run (`.ci/examples.sh` re-draws it and compares).
"""

import json
import sys
from xml.sax.saxutils import escape

# Layout, in SVG units (pixels).
LEFT = 150  # room for the track names
PX_PER_US = 1.2  # scale of the time that is drawn
GAP_US = 1000  # a stretch of one span longer than this is cut out...
GAP_PX = 60  # ...and drawn this wide
TRACK_H = 54
TOP = 34
BOX_H = 18


def load(path):
    with open(path) as f:
        events = json.load(f)
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M"}
    timed = [e for e in events if e.get("ph") in ("X", "i")]
    timed.sort(key=lambda e: e["ts"])
    return names, timed


def busy_intervals(events):
    """The stretches of time in which something other than a long span happens."""
    points = []
    for e in events:
        if e["ph"] == "X" and (e["name"] == "epoll_wait" or e["dur"] > GAP_US):
            # A wait (or a poll longer than a gap) is drawn whole, but only its ends
            # keep the scale: a long one crosses a cut.
            points.append((e["ts"], e["ts"]))
            points.append((e["ts"] + e["dur"], e["ts"] + e["dur"]))
        elif e["ph"] == "X":
            points.append((e["ts"], e["ts"] + e["dur"]))
        else:
            points.append((e["ts"], e["ts"]))
    points.sort()
    merged = []
    for start, end in points:
        if merged and start - merged[-1][1] <= GAP_US:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


class Scale:
    """Maps a trace time (µs) to x, cutting the long stretches out."""

    def __init__(self, intervals):
        self.pieces = []  # (start µs, end µs, x at start)
        self.gaps = []  # (x, length µs)
        x = LEFT + 10
        for i, (start, end) in enumerate(intervals):
            if i > 0:
                self.gaps.append((x, start - intervals[i - 1][1]))
                x += GAP_PX
            self.pieces.append((start, end, x))
            x += (end - start) * PX_PER_US + 8
        self.width = x + 20

    def x(self, t):
        for start, end, x0 in self.pieces:
            if t <= end:
                return x0 + max(0.0, t - start) * PX_PER_US
        start, end, x0 = self.pieces[-1]
        return x0 + (end - start) * PX_PER_US


def duration(us):
    if us >= 1000:
        return "%.1f ms" % (us / 1000)
    return "%.0f µs" % us


def render(names, events):
    scale = Scale(busy_intervals(events))
    tids = [t for t in names] + sorted({e["tid"] for e in events} - set(names))
    track = {tid: i for i, tid in enumerate(tids)}
    height = TOP + TRACK_H * len(tids) + 40
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'font-family="monospace" font-size="11">' % (scale.width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="10" y="18" font-size="13">epoll-rt trace: one track per runtime thread; '
        "grey = epoll_wait, blue = poll, red = wake, green = fd ready</text>",
    ]
    for tid, i in track.items():
        y = TOP + i * TRACK_H
        label = names.get(tid, "tid %d" % tid)
        out.append('<text x="6" y="%d">%s</text>' % (y + 14, escape(label.replace("epoll-rt runtime, ", ""))))
        out.append(
            '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>'
            % (LEFT, y + BOX_H + 6, scale.width - 10, y + BOX_H + 6)
        )
    for x, length in scale.gaps:
        out.append(
            '<rect x="%.1f" y="%d" width="%d" height="%d" fill="#f4f4f4"/>'
            % (x + 4, TOP - 6, GAP_PX - 8, TRACK_H * len(tids))
        )
        out.append(
            '<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%s cut</text>'
            % (x + GAP_PX / 2, TOP + TRACK_H * len(tids) + 8, duration(length))
        )
    for e in events:
        y = TOP + track[e["tid"]] * TRACK_H
        title = escape("%s at %.1f µs" % (e["name"], e["ts"]))
        if e["ph"] == "X":
            x0, x1 = scale.x(e["ts"]), scale.x(e["ts"] + e["dur"])
            if e["name"] == "epoll_wait":
                color = "#bbbbbb"
            elif e.get("args", {}).get("outcome") == "Ready":
                color = "#1f4e9e"
            else:
                color = "#6f9fe0"
            out.append(
                '<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s">'
                "<title>%s, %.1f µs</title></rect>"
                % (x0, y, max(1.5, x1 - x0), BOX_H, color, title, e["dur"])
            )
        else:
            x = scale.x(e["ts"])
            if e["name"].startswith("wake"):
                color = "#d62728"
            elif e["name"].startswith("fd "):
                color = "#2ca02c"
            else:
                color = "#000000"
            out.append(
                '<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2">'
                "<title>%s</title></line>" % (x, y - 4, x, y + BOX_H + 4, color, title)
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: trace_svg.py TRACE.json > timeline.svg")
    names, events = load(sys.argv[1])
    sys.stdout.write(render(names, events))


if __name__ == "__main__":
    main()
