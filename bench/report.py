#!/usr/bin/env python3
"""Turns bench/results/results.csv into a Markdown table and an SVG bar
chart of throughput per scenario (log scale).

Usage: python3 bench/report.py RESULTS.csv RESULTS.md THROUGHPUT.svg [SECONDS [NOTE]]
"""

import csv
import html
import math
import sys


def unit(scenario):
    if "batch" in scenario:
        return "items/s"
    if scenario == "lookup":
        return "lookups/s"
    return "calls/s"


def in_process(scenario):
    """Whether a scenario runs in process (`lookup`, `*-lookup-*`)."""
    return scenario == "lookup" or "-lookup-" in scenario


def label(r):
    """The scenario name, plus the implementations when a row is not the
    Rust CLI against itself (`netipc` is the Rust CLI, `go` the Go bench
    program, `c` the C API client): `(client -> server)`, or `(client)` for
    an in-process scenario, which has no server."""
    client, server = r.get("client", "netipc"), r.get("server", "netipc")
    if client == "netipc" and server == "netipc":
        return r["scenario"]
    name = {"netipc": "rust"}
    if in_process(r["scenario"]):
        return f"{r['scenario']} ({name.get(client, client)})"
    return f"{r['scenario']} ({name.get(client, client)} -> {name.get(server, server)})"


def human(v):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.0f}"


def axis(v):
    return human(v).replace(".00", "")


def write_md(rows, path, seconds, note):
    lines = [
        "# netipc benchmark results",
        "",
        f"`bash bench/run.sh` ({seconds} s per scenario; client and server are this "
        "repository's `netipc bench`, except the rows marked (client -> server) that "
        "pair it with the Go bench program `go/cmd/netipc-bench` or the C API client, "
        "and the in-process rows marked (go), run by the Go bench program). "
        "Throughput is calls/s, items/s for batch "
        "scenarios, lookups/s for `lookup`; latency is per operation (one call, "
        "one batch, one pipelined round of 16, one pass of 16 lookups); CPU is "
        "percent of one core over the measured wall time.",
        "",
    ]
    if note:
        lines += [f"Machine: {note}.", ""]
    lines += [
        "| scenario | throughput | unit | p50 us | p95 us | p99 us | client cpu % | server cpu % | total cpu % |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            "| {s} | {t:,.0f} | {u} | {p50} | {p95} | {p99} | {c} | {sv} | {tot} |".format(
                s=label(r),
                t=float(r["throughput"]),
                u=unit(r["scenario"]),
                p50=r["p50_us"],
                p95=r["p95_us"],
                p99=r["p99_us"],
                c=r["client_cpu_pct"],
                sv=r["server_cpu_pct"],
                tot=r["total_cpu_pct"],
            )
        )
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_svg(rows, path):
    label_w, bar_w, row_h, top, right = 250, 560, 18, 50, 120
    width = label_w + bar_w + right
    height = top + row_h * len(rows) + 40
    values = [max(float(r["throughput"]), 1.0) for r in rows]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 1
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 10
    if hi <= lo:
        hi = lo * 10
    span = math.log10(hi) - math.log10(lo)

    def x(v):
        return label_w + bar_w * (math.log10(v) - math.log10(lo)) / span

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" '
        'font-weight="bold">netipc throughput per scenario (log scale)</text>',
    ]
    decade = lo
    while decade <= hi:
        gx = x(decade)
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 5}" x2="{gx:.1f}" '
            f'y2="{top + row_h * len(rows)}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{gx:.1f}" y="{top - 10}" text-anchor="middle" fill="#666">'
            f"{axis(decade)}</text>"
        )
        decade *= 10
    colors = {"calls/s": "#3b75af", "items/s": "#e07b39", "lookups/s": "#519e3e"}
    for i, (r, v) in enumerate(zip(rows, values)):
        y = top + i * row_h
        u = unit(r["scenario"])
        out.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">'
            f"{html.escape(label(r))}</text>"
        )
        out.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(x(v) - label_w, 1):.1f}" '
            f'height="{row_h - 5}" fill="{colors[u]}"/>'
        )
        out.append(
            f'<text x="{x(v) + 4:.1f}" y="{y + 13}">{human(v)} {u}</text>'
        )
    ly = top + row_h * len(rows) + 25
    lx = label_w
    for u, c in colors.items():
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{c}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly}">{u}</text>')
        lx += 110
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    seconds = sys.argv[4] if len(sys.argv) > 4 else "?"
    note = sys.argv[5] if len(sys.argv) > 5 else ""
    write_md(rows, sys.argv[2], seconds, note)
    write_svg(rows, sys.argv[3])


if __name__ == "__main__":
    main()
