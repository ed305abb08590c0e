#!/usr/bin/env python3
"""Runs Tessera's benchmark suite against lua5.4 (and optionally LuaJIT with its JIT off).

Every benchmark is a Lua script in this directory that prints a checksum line. Each is run
`--runs` times per interpreter; the best wall-clock time is kept, the outputs are compared
with lua5.4's, and a Markdown table is printed.
"""

import argparse
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--tessera",
        default=str(REPO_ROOT / "target" / "release" / "tessera"),
        help="path to the tessera binary (default: target/release/tessera)",
    )
    parser.add_argument("--lua", default="lua5.4", help="reference interpreter (default: lua5.4)")
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark (default: 3)")
    parser.add_argument(
        "--luajit", action="store_true", help="also run `luajit -joff` as a comparison column"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds before a run is abandoned"
    )
    parser.add_argument(
        "--dir",
        default=str(BENCH_DIR),
        help="folder of benchmark scripts (default: bench/; bench/processes/ holds the process ones)",
    )
    parser.add_argument("filter", nargs="*", help="only run benchmarks whose name contains one of these")
    return parser.parse_args()


def run_once(command, timeout, cwd=BENCH_DIR):
    """Returns (seconds, stdout, error) for one run."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, b"", "timeout"
    except OSError as err:
        return None, b"", str(err)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        return None, proc.stdout, message[-1] if message else f"exit {proc.returncode}"
    return elapsed, proc.stdout, None


def best_of(command, runs, timeout, cwd=BENCH_DIR):
    best, output, error = None, b"", None
    for _ in range(runs):
        seconds, out, err = run_once(command, timeout, cwd)
        if err is not None:
            return None, out, err
        output = out
        best = seconds if best is None else min(best, seconds)
    return best, output, None


def fmt_seconds(value):
    return "—" if value is None else f"{value:.3f}"


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main():
    args = parse_args()
    scripts = sorted(Path(args.dir).glob("*.lua"))
    if args.filter:
        scripts = [s for s in scripts if any(f in s.stem for f in args.filter)]
    if not scripts:
        sys.exit("no benchmark matches")

    tessera = Path(args.tessera)
    if not tessera.is_file():
        sys.exit(f"tessera binary not found at {tessera} (build it with `cargo build --release`)")
    if shutil.which(args.lua) is None:
        sys.exit(f"reference interpreter {args.lua!r} not found")
    use_luajit = args.luajit and shutil.which("luajit") is not None
    if args.luajit and not use_luajit:
        print("warning: luajit not found, skipping that column", file=sys.stderr)

    header = ["benchmark", f"{args.lua} s", "tessera s", "ratio"]
    if use_luajit:
        header += ["luajit -joff s", "tessera/luajit"]
    header.append("output")
    rows, ratios, jit_ratios = [], [], []
    for script in scripts:
        name = script.stem
        print(f"running {name} ...", file=sys.stderr)
        ref_time, ref_out, ref_err = best_of([args.lua, script.name], args.runs, args.timeout, script.parent)
        tes_time, tes_out, tes_err = best_of(
            [str(tessera), "run", script.name], args.runs, args.timeout, script.parent
        )
        notes = []
        if ref_err:
            notes.append(f"{args.lua} failed: {ref_err}")
        if tes_err:
            notes.append(f"tessera failed: {tes_err}")
        elif not ref_err and tes_out != ref_out:
            notes.append("MISMATCH")
        ratio = tes_time / ref_time if ref_time and tes_time else None
        if ratio is not None and not notes:
            ratios.append(ratio)
        row = [name, fmt_seconds(ref_time), fmt_seconds(tes_time), "—" if ratio is None else f"{ratio:.2f}x"]
        if use_luajit:
            jit_time, jit_out, jit_err = best_of(
                ["luajit", "-joff", script.name], args.runs, args.timeout, script.parent
            )
            jit_ratio = tes_time / jit_time if jit_time and tes_time else None
            if jit_err:
                notes.append(f"luajit failed: {jit_err}")
            elif jit_out != ref_out:
                notes.append("luajit output differs")
            if jit_ratio is not None:
                jit_ratios.append(jit_ratio)
            row += [fmt_seconds(jit_time), "—" if jit_ratio is None else f"{jit_ratio:.2f}x"]
        row.append("; ".join(notes) if notes else "ok")
        rows.append(row)

    mean = geomean(ratios)
    last = ["**geometric mean**", "", "", "—" if mean is None else f"**{mean:.2f}x**"]
    if use_luajit:
        jit_mean = geomean(jit_ratios)
        last += ["", "—" if jit_mean is None else f"**{jit_mean:.2f}x**"]
    last.append(f"{len(ratios)} of {len(rows)} comparable")
    rows.append(last)

    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
