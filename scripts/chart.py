#!/usr/bin/env python3
"""Tables, target checks and SVG charts from criterion's output.

Reads target/criterion/<group>/<function>/<param>/new/estimates.json (the
median) and the allocs.json the bench binaries write beside it. Standard
library only; the SVG is written by hand.

    python3 scripts/chart.py                 # markdown tables + targets on stdout
    python3 scripts/chart.py --svg docs/img  # also write hit.svg, handoff.svg, held.svg

Times are per op: per buffer for `held` (an iteration holds k buffers) and
per op per thread for `contention`. Ratios are competitor / tierpool from the
same group, hence the same run of the same binary (higher = tierpool faster).
"""

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

PEERS = ["zeropool", "zeropool_uninit", "opool", "lockfree_object_pool", "object_pool", "byte_pool"]
ALLOCS = ["glibc", "jemalloc", "mimalloc"]
COLOURS = {
    "tierpool": "#d62728",
    "tierpool_global": "#ff9896",
    "channel_only": "#7f7f7f",
    "bytesmut_glibc": "#1f77b4",
    "bytesmut_jemalloc": "#aec7e8",
    "bytesmut_mimalloc": "#17becf",
    "zeropool": "#2ca02c",
    "zeropool_uninit": "#98df8a",
    "opool": "#9467bd",
    "lockfree_object_pool": "#8c564b",
    "object_pool": "#e377c2",
    "byte_pool": "#bcbd22",
}


def load(root):
    """{(group, function, param): {"ns": median ns per op, "allocs": per op or None}}"""
    data = {}
    for est in Path(root).glob("*/*/*/new/estimates.json"):
        param_dir = est.parent.parent
        group, function, param = param_dir.parent.parent.name, param_dir.parent.name, param_dir.name
        ns = json.loads(est.read_text())["median"]["point_estimate"]
        k = re.search(r"_k(\d+)$", param)
        if group.startswith("held") and k:
            ns /= int(k.group(1))
        allocs = None
        af = param_dir / "allocs.json"
        if af.exists():
            allocs = json.loads(af.read_text())["allocs_per_op"]
        data[(group, function, param)] = {"ns": ns, "allocs": allocs}
    return data


def params_of(data, group):
    seen = []
    for g, _, p in data:
        if g == group and p not in seen:
            seen.append(p)

    def key(p):
        m = re.match(r"(\d+)(B|KiB|MiB)(?:_[kt](\d+))?", p)
        if not m:
            return (0, 0, p)
        mult = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[m.group(2)]
        return (int(m.group(1)) * mult, int(m.group(3) or 0), p)

    return sorted(seen, key=key)


def functions_of(data, group):
    order = ["channel_only", "tierpool", "tierpool_global"]
    fs = {f for g, f, _ in data if g == group}
    return [f for f in order if f in fs] + sorted(fs - set(order), key=lambda f: (f.startswith("tierpool") is False, f))


def ns(data, group, function, param):
    row = data.get((group, function, param))
    return row["ns"] if row else None


def fmt_ns(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.1f} ns"


def fmt_allocs(a):
    if a is None:
        return ""
    return "0" if a < 0.0005 else f"{a:.3f}".rstrip("0").rstrip(".")


def table(data, base):
    """One markdown table for a base group, merging its _jemalloc/_mimalloc variants."""
    groups = [g for g in [base] + [f"{base}_{a}" for a in ALLOCS[1:]] if any(k[0] == g for k in data)]
    if not groups:
        return ""
    params = params_of(data, groups[0])
    ref_name = "tierpool" if base not in ("fill", "freeze") else "tierpool_freeze"
    out = [f"#### {base}", "", f"median per op · ratio = time / {ref_name}'s time in the same run · allocs/op", ""]
    out.append("| competitor | " + " | ".join(params) + " |")
    out.append("|---|" + "---:|" * len(params))
    for g in groups:
        suffix = "" if g == base else f" ({g[len(base) + 1:]} binary)"
        fns = functions_of(data, g)
        # The reference: tierpool, or the first tierpool variant (fill, freeze).
        ref_fn = "tierpool" if "tierpool" in fns else next((f for f in fns if f.startswith("tierpool")), None)
        for f in fns:
            cells = []
            for p in params:
                v = ns(data, g, f, p)
                ref = ns(data, g, ref_fn, p) if ref_fn else None
                if v is None:
                    cells.append("–")
                    continue
                ratio = f" · {v / ref:.2f}×" if ref and f != ref_fn else ""
                a = data[(g, f, p)]["allocs"]
                cells.append(f"{fmt_ns(v)}{ratio} · {fmt_allocs(a)}")
            out.append(f"| {f}{suffix} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def targets(data):
    """Checks the issue's targets; returns markdown lines."""
    lines = []

    def check(ok, text):
        lines.append(f"- {'MET' if ok else 'MISSED'}: {text}" if ok is not None else f"- NOT MEASURED: {text}")

    for tier in ["4KiB", "64KiB", "1MiB"]:
        t = ns(data, "hit", "tierpool", tier)
        peers = [(ns(data, "hit", p, tier), p) for p in PEERS if ns(data, "hit", p, tier)]
        if t and peers:
            best, name = min(peers)
            check(best / t >= 1.5, f"hit {tier}: fastest peer {name} {fmt_ns(best)} / tierpool {fmt_ns(t)} = {best / t:.2f}× (target ≥ 1.5×)")
    t = ns(data, "hit_jemalloc", "tierpool", "4KiB")
    j = ns(data, "hit_jemalloc", "bytesmut_jemalloc", "4KiB")
    check(t <= j if t and j else None, f"hit 4KiB vs jemalloc BytesMut: {fmt_ns(j)} / {fmt_ns(t)} = {j / t:.2f}× (target ≥ 1.0×)" if t and j else "hit 4KiB vs jemalloc")
    for alloc in ["jemalloc", "mimalloc"]:
        for tier in ["64KiB", "1MiB"]:
            t = ns(data, f"hit_{alloc}", "tierpool", tier)
            b = ns(data, f"hit_{alloc}", f"bytesmut_{alloc}", tier)
            if t and b:
                check(b / t >= 20, f"hit {tier} vs {alloc} BytesMut: {b / t:.1f}× (target ≥ 20×)")
    for tier in ["4KiB", "64KiB", "1MiB"]:
        t = ns(data, "handoff", "tierpool", tier)
        c = ns(data, "handoff", "channel_only", tier)
        peers = [(ns(data, "handoff", p, tier), p) for p in PEERS if ns(data, "handoff", p, tier)]
        if t and c:
            note = " — negative: channel noise swamps the pool's cost, not resolved" if t < c else ""
            check(t - c <= 25, f"handoff {tier}: tierpool {fmt_ns(t)} − channel {fmt_ns(c)} = {t - c:.1f} ns (target ≤ 25 ns){note}")
        if t and peers:
            best, name = min(peers)
            check(t <= best, f"handoff {tier}: best peer {name} {fmt_ns(best)} vs tierpool {fmt_ns(t)} ({best / t:.2f}×, target ≥ 1.0×)")
    t = ns(data, "held", "tierpool", "64KiB_k64")
    peers = [(ns(data, "held", p, "64KiB_k64"), p) for p in PEERS if ns(data, "held", p, "64KiB_k64")]
    if t and peers:
        best, name = min(peers)
        check(t <= best, f"held 64KiB k=64: best peer {name} {fmt_ns(best)} vs tierpool {fmt_ns(t)} per buffer ({best / t:.2f}×, target ≥ 1.0×)")
    t1 = ns(data, "contention", "tierpool", "4KiB_t1")
    t2 = ns(data, "contention", "tierpool", "4KiB_t2")
    if t1 and t2:
        check(2 * t1 / t2 >= 1.9, f"contention: 2-thread throughput / 1-thread = {2 * t1 / t2:.2f}× (target ≥ 1.9×)")
    steady = [(g, f, p, v["allocs"]) for (g, f, p), v in data.items()
              if f in ("tierpool", "tierpool_global") and g.split("_")[0] in ("hit", "held", "handoff", "contention")
              and v["allocs"] is not None]
    bad = [(g, f, p, a) for g, f, p, a in steady if a >= 0.005]
    check(not bad, "0 allocations per op on steady-state paths (hit, held, handoff, contention; < 0.005 counts as 0: thread start-up)"
          + ("" if not bad else ": exceptions " + ", ".join(f"{g}/{f}/{p} = {a:.3f}" for g, f, p, a in sorted(bad))))
    return lines


# === SVG ===

def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bar_chart(path, title, ylabel, categories, series, log=False):
    """categories: x groups; series: [(name, [value or None per category])]."""
    W, H, L, R, T, B = 960, 480, 80, 200, 50, 60
    pw, ph = W - L - R, H - T - B
    vals = [v for _, vs in series for v in vs if v]
    if not vals:
        return
    if log:
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        y = lambda v: T + ph - ph * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        ticks = [10 ** e for e in range(int(math.log10(lo)), int(math.log10(hi)) + 1)]
    else:
        lo, top = 0, max(vals) * 1.1
        step = 10 ** math.floor(math.log10(top))
        step = step / 2 if top / step < 4 else step
        hi = math.ceil(top / step) * step
        y = lambda v: T + ph - ph * v / hi
        ticks = [i * step for i in range(int(hi / step) + 1)]
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{esc(title)}</text>']
    for t in ticks:
        yy = y(t)
        label = f"{t:g}" if not log else (f"{t:g}" if t < 1e4 else f"1e{int(round(math.log10(t)))}")
        o.append(f'<line x1="{L}" x2="{L + pw}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{yy + 4:.1f}" text-anchor="end">{label}</text>')
    o.append(f'<text transform="translate(20,{T + ph / 2}) rotate(-90)" text-anchor="middle">{esc(ylabel)}</text>')
    gw = pw / len(categories)
    bw = gw * 0.8 / len(series)
    base = T + ph
    for ci, cat in enumerate(categories):
        x0 = L + ci * gw + gw * 0.1
        for si, (name, vs) in enumerate(series):
            v = vs[ci]
            if not v:
                continue
            yy = y(v)
            o.append(f'<rect x="{x0 + si * bw:.1f}" y="{yy:.1f}" width="{bw * 0.9:.1f}" height="{base - yy:.1f}" '
                     f'fill="{COLOURS.get(name, "#333")}"><title>{esc(name)} {esc(cat)}: {v:.1f}</title></rect>')
        o.append(f'<text x="{L + ci * gw + gw / 2:.1f}" y="{base + 20}" text-anchor="middle" font-size="14">{esc(cat)}</text>')
    o.append(f'<line x1="{L}" x2="{L + pw}" y1="{base}" y2="{base}" stroke="black"/>')
    for si, (name, _) in enumerate(series):
        ly = T + 10 + si * 20
        o.append(f'<rect x="{L + pw + 15}" y="{ly}" width="12" height="12" fill="{COLOURS.get(name, "#333")}"/>')
        o.append(f'<text x="{L + pw + 32}" y="{ly + 11}">{esc(name)}</text>')
    o.append("</svg>")
    Path(path).write_text("\n".join(o) + "\n")


def lookup_any(data, base, function, param):
    """A function from the base group, or from its allocator variant (bytesmut_jemalloc...)."""
    for g in [base] + [f"{base}_{a}" for a in ALLOCS[1:]]:
        v = ns(data, g, function, param)
        if v is not None:
            return v
    return None


def charts(data, outdir):
    os.makedirs(outdir, exist_ok=True)
    tiers = ["4KiB", "64KiB", "1MiB"]
    hit_fns = ["tierpool", "tierpool_global", "bytesmut_glibc", "bytesmut_jemalloc", "bytesmut_mimalloc"] + PEERS
    series = [(f, [lookup_any(data, "hit", f, t) for t in tiers]) for f in hit_fns]
    bar_chart(Path(outdir) / "hit.svg", "hit: get(n) + write 64 B + drop, single thread (lower is better)",
              "ns per op (log scale)", tiers, [s for s in series if any(s[1])], log=True)
    ho_fns = ["channel_only", "tierpool", "bytesmut_glibc", "bytesmut_jemalloc", "bytesmut_mimalloc"] + PEERS
    series = []
    for f in ho_fns:
        vs = [lookup_any(data, "handoff", f, t) for t in tiers]
        series.append((f, [1e3 / v if v else None for v in vs]))
    bar_chart(Path(outdir) / "handoff.svg", "cross-thread hand-off: producer → bounded channel → consumer (higher is better)",
              "million buffers per second", tiers, [s for s in series if any(s[1])])
    held_params = ["64KiB_k8", "64KiB_k64", "64KiB_k512"]
    held_fns = ["tierpool", "bytesmut_glibc", "bytesmut_jemalloc", "bytesmut_mimalloc"] + PEERS
    series = [(f, [lookup_any(data, "held", f, p) for p in held_params]) for f in held_fns]
    bar_chart(Path(outdir) / "held.svg", "held: k 64 KiB buffers out at once (lower is better)",
              "ns per buffer (log scale)", held_params, [s for s in series if any(s[1])], log=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--criterion", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion"))
    ap.add_argument("--svg", metavar="DIR", help="write hit.svg, handoff.svg and held.svg here")
    args = ap.parse_args()
    data = load(args.criterion)
    if not data:
        sys.exit(f"no criterion estimates under {args.criterion}: run the benches first")
    for base in ["hit", "fill", "held", "handoff", "contention", "freeze"]:
        t = table(data, base)
        if t:
            print(t)
    print("#### targets\n")
    print("\n".join(targets(data)))
    if args.svg:
        charts(data, args.svg)


if __name__ == "__main__":
    main()
