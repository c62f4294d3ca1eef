#!/usr/bin/env python3
"""The results of `make bench` (scripts/bench.sh).

Reads the benchmark guests' consoles (console-<core>-<run>.log), where the
kernel module printed "@B <name> n=<N> iters=<i> ns=<t> ns_op=<x>" lines and
the uapi program "@U ..." lines; prints the table (benchmark, C ns/op, Rust
ns/op, C/Rust, spread), and writes results.csv and chart.svg into --out and
the results part of --doc (Documentation/dma-buf/performance.rst, between
its RESULTS markers; only when every benchmark ran).

The figure of a benchmark on a core is the median over the runs; its spread
is (max - min) / median over the runs, in percent.
"""

import argparse
import csv
import datetime
import html
import math
import os
import platform
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"^@([BU]) (\S+) n=(\d+) iters=(\d+) ns=(\d+) ns_op=([\d.]+)")
FAILED = re.compile(r"^@([BU]) (\S+) n=(\d+) FAILED (.*)")
# console-<core>-<run>.log: the icount boots; console-<core>-wall-<run>.log:
# the wall-clock boots of the cross-CPU benchmarks.
CONSOLE = re.compile(r"console-(c|rust)-(wall-)?(\d+)\.log$")
BEGIN, END = ".. BEGIN RESULTS (written by make bench)", ".. END RESULTS"
# Sizes in MiB: rows reported as bandwidth too.
BANDWIDTH = ("uapi/mmap_read", "uapi/mmap_write", "uapi/anon_memcpy")


def parse(paths):
    """{(name, n): {core: [ns_op per run]}}, in first-seen order; failures."""
    res, failures = {}, []
    for path in paths:
        m = CONSOLE.search(path)
        if not m:
            continue
        core = m.group(1)
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\r\n")
                m = LINE.match(line)
                if m:
                    key = (m.group(2), int(m.group(3)))
                    res.setdefault(key, {"c": [], "rust": []})[core].append(float(m.group(6)))
                    continue
                m = FAILED.match(line)
                if m:
                    failures.append(f"{core}: {m.group(2)} n={m.group(3)}: {m.group(4)}")
    return res, failures


def label(name, n):
    return name if n == 1 and not name.startswith(BANDWIDTH) else f"{name} [{n}]"


def rows_of(res):
    rows = []
    for (name, n), by in res.items():
        row = {"benchmark": name, "n": n, "label": label(name, n)}
        for core in ("c", "rust"):
            v = by[core]
            row[f"{core}_runs"] = len(v)
            if v:
                med = statistics.median(v)
                row[core] = med
                # One run has no spread to show.
                row[f"{core}_spread"] = (max(v) - min(v)) / med * 100 if med and len(v) > 1 else None
            else:
                row[core] = None
                row[f"{core}_spread"] = None
        row["ratio"] = row["c"] / row["rust"] if row["c"] and row["rust"] else None
        rows.append(row)
    return rows


def fmt_ns(x):
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f} ms"
    if x >= 1e4:
        return f"{x / 1e3:.1f} us"
    return f"{x:.1f}"


def verdict(row):
    """Whether the ratio is beyond the runs' spread."""
    r = row["ratio"]
    if r is None:
        return ""
    if row["c_spread"] is None or row["rust_spread"] is None:
        return "(one run: no spread)"
    noise = max(row["c_spread"] or 0, row["rust_spread"] or 0) / 100
    if r > 1 + noise and r >= 1.005:
        return "Rust faster"
    if r < 1 - noise and r <= 0.995:
        return "C faster"
    return "same"


def table(rows):
    head = ["benchmark", "C ns/op", "Rust ns/op", "C/Rust", "spread C/Rust %", "ns/elem C", "ns/elem Rust", ""]
    out = []
    for r in rows:
        per = r["n"] > 1 and not r["benchmark"].startswith(BANDWIDTH)
        out.append([
            r["label"], fmt_ns(r["c"]), fmt_ns(r["rust"]),
            f"{r['ratio']:.3f}" if r["ratio"] else "-",
            "/".join("-" if r[f"{c}_spread"] is None else f"{r[f'{c}_spread']:.2f}" for c in ("c", "rust")),
            f"{r['c'] / r['n']:.1f}" if per and r["c"] else "",
            f"{r['rust'] / r['n']:.1f}" if per and r["rust"] else "",
            verdict(r),
        ])
    return head, out


def print_table(head, out):
    w = [max(len(str(x[i])) for x in [head] + out) for i in range(len(head))]
    for i, line in enumerate([head] + out):
        cells = [str(c).ljust(w[j]) if j == 0 or j == len(line) - 1 else str(c).rjust(w[j])
                 for j, c in enumerate(line)]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * x for x in w))


def bandwidth(rows):
    """[(label, C MiB/s, Rust MiB/s)] and the mmap/anon fractions."""
    out = []
    for r in rows:
        if r["benchmark"].startswith(BANDWIDTH):
            mib = r["n"]
            out.append((r["benchmark"], *(mib / (r[c] / 1e9) if r[c] else None for c in ("c", "rust"))))
    return out


def scaling(rows):
    """{name: {core: [(n, ns per element)]}} for the benchmarks run at several N."""
    groups = {}
    for r in rows:
        if r["benchmark"].startswith(BANDWIDTH):
            continue
        groups.setdefault(r["benchmark"], []).append(r)
    sc = {}
    for name, rs in groups.items():
        if len(rs) < 3:
            continue
        sc[name] = {c: [(r["n"], r[c] / r["n"]) for r in sorted(rs, key=lambda r: r["n"]) if r[c]]
                    for c in ("c", "rust")}
    return sc


def scaling_words(points):
    """Flat or growing time per element, from the second-smallest N up."""
    if len(points) < 3:
        return "-"
    base = points[1][1]
    top = points[-1][1]
    g = top / base
    shape = "flat (linear)" if 0.8 <= g < 1.3 else ("falls (a fixed cost spread over more elements)" if g < 0.8 else "grows")
    return f"{shape}: {base:.1f} ns/elem at N={points[1][0]}, {top:.1f} at N={points[-1][0]} (x{g:.2f})"


def svg_chart(rows, sc, path):
    """Bars of C/Rust per benchmark, and ns per element against N (log-log)."""
    rs = [r for r in rows if r["ratio"]]
    bar_h, left, width = 14, 260, 420
    top = 40
    h1 = top + bar_h * len(rs) + 40
    panels = list(sc.items())
    ph, pw = 220, 330
    cols = 2
    h2 = (ph + 50) * math.ceil(len(panels) / cols) if panels else 0
    W, H = left + width + 80, h1 + h2 + 20
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="10" y="20" font-size="14" font-weight="bold">C time / Rust time per benchmark '
         f'(above 1: Rust faster)</text>']
    hi = max([r["ratio"] for r in rs] + [1.2])
    lo = min([r["ratio"] for r in rs] + [0.8])
    lo, hi = min(lo, 0.8), max(hi, 1.2)

    def x_of(v):
        return left + (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * width

    for i, r in enumerate(rs):
        y = top + i * bar_h
        x1, x0 = x_of(r["ratio"]), x_of(1.0)
        color = "#2a7" if r["ratio"] >= 1 else "#d54"
        o.append(f'<text x="{left - 6}" y="{y + bar_h - 3}" text-anchor="end">{html.escape(r["label"])}</text>')
        o.append(f'<rect x="{min(x0, x1):.1f}" y="{y + 2}" width="{abs(x1 - x0):.1f}" height="{bar_h - 4}" fill="{color}"/>')
        o.append(f'<text x="{max(x0, x1) + 4:.1f}" y="{y + bar_h - 3}">{r["ratio"]:.3f}</text>')
    for v in (0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0):
        if lo <= v <= hi:
            x = x_of(v)
            o.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + bar_h * len(rs)}" '
                     f'stroke="{"black" if v == 1 else "#ccc"}" stroke-width="{1 if v == 1 else 0.5}"/>')
            o.append(f'<text x="{x:.1f}" y="{top + bar_h * len(rs) + 14}" text-anchor="middle">{v:g}</text>')

    y0 = h1
    if panels:
        o.append(f'<text x="10" y="{y0}" font-size="14" font-weight="bold">ns per element against N '
                 f'(log-log; C dashed, Rust solid)</text>')
    for k, (name, by) in enumerate(panels):
        px = 50 + (k % cols) * (pw + 60)
        py = y0 + 20 + (k // cols) * (ph + 50)
        pts = [p for c in by.values() for p in c]
        if not pts:
            continue
        nx = [p[0] for p in pts]
        vy = [p[1] for p in pts]
        xl, xh = math.log(min(nx)), math.log(max(nx)) if max(nx) > min(nx) else math.log(min(nx)) + 1
        yl, yh = math.log(min(vy) * 0.8), math.log(max(vy) * 1.25)

        def X(n):
            return px + (math.log(n) - xl) / (xh - xl) * pw

        def Y(v):
            return py + ph - (math.log(v) - yl) / (yh - yl) * ph

        o.append(f'<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        o.append(f'<text x="{px + pw / 2}" y="{py - 4}" text-anchor="middle" font-weight="bold">{html.escape(name)}</text>')
        for n in sorted(set(nx)):
            o.append(f'<text x="{X(n):.1f}" y="{py + ph + 13}" text-anchor="middle">{n}</text>')
        for v in (min(vy), max(vy)):
            o.append(f'<text x="{px - 4}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
        for c, dash, color in (("c", "5,3", "#36c"), ("rust", "", "#c60")):
            p = by.get(c) or []
            if not p:
                continue
            d = " ".join(f"{X(n):.1f},{Y(v):.1f}" for n, v in p)
            o.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.5"'
                     + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            for n, v in p:
                o.append(f'<circle cx="{X(n):.1f}" cy="{Y(v):.1f}" r="2" fill="{color}"/>')
        o.append(f'<text x="{px + pw - 4}" y="{py + 14}" text-anchor="end" fill="#36c">C</text>')
        o.append(f'<text x="{px + pw - 4}" y="{py + 28}" text-anchor="end" fill="#c60">Rust</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        qemu = "QEMU (version unknown)"
    return f"{cpu}, {os.cpu_count()} CPUs, host {platform.system()} {platform.release()}; {qemu}"


def rst_table(head, out):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for line in [head] + out:
        for j, c in enumerate(line):
            c = str(c) if str(c) else " "
            lines.append(("   * - " if j == 0 else "     - ") + c.replace("*", r"\*"))
    return lines


def rst_results(rows, head, out, sc, bw, runs, time_ms, chart_name):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [BEGIN, "", f"Measured {now} on {machine()}.",
             f"Boots per core: {runs['c']} of the C kernel and {runs['rust']} of the Rust kernel, "
             f"interleaved; each benchmark's timed loop ran for {time_ms} ms of guest time. "
             "The figure is the median over the boots; the spread is (max - min) / median over "
             "the boots, in percent, for C and for Rust. C/Rust above 1 means the Rust core is "
             "faster. The last column says whether the ratio lies beyond the spread.", ""]
    if any(r["benchmark"].startswith("xcpu/") for r in rows):
        lines += ["The ``xcpu/`` rows are not instruction counts: they ran in separate boots "
                  "with two vCPUs under multi-threaded TCG, timed by the real clock (nanoseconds "
                  "of host time), each boot reporting the best of 5 timed runs; their spread is "
                  "that of wall-clock emulation.", ""]
    lines += rst_table(head, out)
    lines.append("")
    if bw:
        lines += ["Bandwidth of the 64 MiB copies (MiB per second of guest time, that is per "
                  "10\\ :sup:`9` guest instructions):", ""]
        anon = {c: v for name, *cv in bw if name == "uapi/anon_memcpy" for c, v in zip(("c", "rust"), cv)}
        for name, c, r in bw:
            extra = ""
            if name != "uapi/anon_memcpy" and anon.get("c") and anon.get("rust") and c and r:
                extra = f" ({c / anon['c'] * 100:.1f}% / {r / anon['rust'] * 100:.1f}% of the anonymous memcpy)"
            lines.append(f"- ``{name}``: C {c:.0f}, Rust {r:.0f}{extra}" if c and r else f"- ``{name}``: -")
        lines.append("")
    if sc:
        lines += ["Scaling of the N-sized benchmarks (time per element, from the second-smallest N "
                  "to the largest; flat means linear):", ""]
        for name, by in sc.items():
            lines.append(f"- ``{name}``: C {scaling_words(by['c'])}; Rust {scaling_words(by['rust'])}")
        lines.append("")
    lines += [f".. image:: {chart_name}", "   :alt: C/Rust ratio per benchmark and ns per element against N", "",
              END]
    return lines


def update_doc(doc, lines):
    if os.path.exists(doc):
        text = open(doc).read()
    else:
        text = f"Performance\n===========\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        sys.exit(f"{doc}: no {BEGIN!r} ... {END!r} markers")
    a = text.index(BEGIN)
    b = text.index(END) + len(END)
    with open(doc, "w") as f:
        f.write(text[:a] + "\n".join(lines) + text[b:])


def repeat_report(rows, prev_csv):
    """Lines comparing this run's figures with the previous run's CSV: how far
    each core's figure moved, against this run's spread (the repeat check)."""
    try:
        with open(prev_csv, newline="") as f:
            prev = {(r["benchmark"], int(r["n"])): r for r in csv.DictReader(f)}
    except (OSError, KeyError, ValueError):
        return []
    moved, worst, compared = [], {"c": (0.0, ""), "rust": (0.0, "")}, 0
    for r in rows:
        p = prev.get((r["benchmark"], r["n"]))
        if not p:
            continue
        compared += 1
        for core in ("c", "rust"):
            old = float(p[f"{core}_ns_op"]) if p[f"{core}_ns_op"] else None
            if not old or not r[core]:
                continue
            d = (r[core] - old) / old * 100
            if abs(d) > abs(worst[core][0]):
                worst[core] = (d, r["label"])
            # Beyond this run's spread (at least 0.5%: figures print to 0.1 ns).
            limit = max(r[f"{core}_spread"] or 0, 0.5)
            if abs(d) > limit:
                moved.append(f"  {r['label']} ({core}): {old:.1f} -> {r[core]:.1f} ns/op ({d:+.2f}%)")
    if not compared:
        return []
    out = [f"repeat: {compared} benchmarks also in the previous run ({prev_csv}); largest change "
           + ", ".join(f"{'C' if c == 'c' else 'Rust'} {w[0]:+.2f}% ({w[1] or '-'})"
                       for c, w in worst.items())]
    out.append(f"repeat: {len(moved)} figures moved beyond this run's spread (or 0.5%)"
               + (":" if moved else ""))
    return out + moved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--doc")
    ap.add_argument("--filter", default="all")
    ap.add_argument("--time-ms", default="1000")
    ap.add_argument("--prev", help="the previous run's results.csv, to report how the figures repeat")
    ap.add_argument("consoles", nargs="+")
    a = ap.parse_args()
    res, failures = parse(a.consoles)
    if not res:
        sys.exit("no benchmark results in " + " ".join(a.consoles))
    runs = {c: len({CONSOLE.search(p).group(3) for p in a.consoles
                    if CONSOLE.search(p) and CONSOLE.search(p).group(1) == c
                    and not CONSOLE.search(p).group(2)}) for c in ("c", "rust")}
    rows = rows_of(res)
    head, out = table(rows)
    print_table(head, out)
    bw = bandwidth(rows)
    for name, c, r in bw:
        print(f"{name}: C {c:.0f} MiB/s, Rust {r:.0f} MiB/s (guest time)" if c and r else name)
    sc = scaling(rows)
    if sc:
        print("scaling (ns per element):")
        for name, by in sc.items():
            print(f"  {name}: C {scaling_words(by['c'])}; Rust {scaling_words(by['rust'])}")

    os.makedirs(a.out, exist_ok=True)
    if a.prev:
        rep = repeat_report(rows, a.prev)
        for line in rep:
            print(line)
        if rep:
            with open(os.path.join(a.out, "repeat.txt"), "w") as f:
                f.write("\n".join(rep) + "\n")

    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["benchmark", "n", "c_ns_op", "rust_ns_op", "ratio_c_over_rust", "c_spread_pct",
                    "rust_spread_pct", "c_ns_elem", "rust_ns_elem", "c_runs", "rust_runs"])
        for r in rows:
            g = lambda k, d=3: "" if r[k] is None else f"{r[k]:.{d}f}"
            w.writerow([r["benchmark"], r["n"], g("c"), g("rust"), g("ratio", 4), g("c_spread"),
                        g("rust_spread"), f"{r['c'] / r['n']:.3f}" if r["c"] else "",
                        f"{r['rust'] / r['n']:.3f}" if r["rust"] else "", r["c_runs"], r["rust_runs"]])
    chart = os.path.join(a.out, "chart.svg")
    svg_chart(rows, sc, chart)
    print(f"wrote {os.path.join(a.out, 'results.csv')} and {chart}")

    if a.doc:
        if a.filter != "all":
            print(f"{a.doc} not updated: only a subset ran (BENCH={a.filter})")
        elif failures:
            print(f"{a.doc} not updated: benchmarks failed")
        else:
            docdir = os.path.dirname(a.doc)
            name = "performance-chart.svg"
            with open(chart) as src, open(os.path.join(docdir, name), "w") as dst:
                dst.write(src.read())
            update_doc(a.doc, rst_results(rows, head, out, sc, bw, runs, a.time_ms, name))
            print(f"updated {a.doc} and {os.path.join(docdir, name)}")
    if failures:
        print("FAILED benchmarks:")
        for x in failures:
            print("  " + x)
        sys.exit(1)


if __name__ == "__main__":
    main()
