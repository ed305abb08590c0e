#!/usr/bin/env python3
"""Runs Tessera's benchmark suite against lua5.4 (and optionally LuaJIT with its JIT off).

Every benchmark is a Lua script in this directory that prints a checksum line. Each is run
`--runs` times per interpreter; the best wall-clock time is kept, the outputs are compared
with lua5.4's, and a Markdown table is printed.

With `--callgrind`, each benchmark instead runs once per interpreter at its small size
(`-e BENCH_SMALL=true`) under `valgrind --tool=callgrind`, and the table gives the machine
instructions executed (callgrind's `Ir`, deterministic enough that small changes show), the
tessera/lua5.4 ratio, the fuel Tessera used (from `tessera --stats`) and the instructions per
unit of fuel of both interpreters.

With `--rss`, each benchmark runs once per interpreter at its full size under GNU time
(`/usr/bin/time -f %M`), and the table gives each one's peak resident memory and the
tessera/lua5.4 ratio. (A child of Python would report Python's own high-water mark: a
vforked child inherits it at exec.)
"""

import argparse
import math
import re
import shutil
import subprocess
import sys
import tempfile
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
        "--timeout",
        type=float,
        default=None,
        help="seconds before a run is abandoned (default: 120, or 1200 with --callgrind)",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count machine instructions (valgrind's Ir) instead of timing: one run per "
        "interpreter at the small size (-e BENCH_SMALL=true), with tessera's fuel from --stats "
        "and the instructions per unit of fuel; --runs is ignored",
    )
    parser.add_argument(
        "--rss",
        action="store_true",
        help="measure peak resident memory (GNU time's %%M) instead of timing: one run per "
        "interpreter at the full size; --runs is ignored",
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


OPS = re.compile(rb"^-- ops: (\d+)\s*$", re.MULTILINE)


def script_ops(script):
    """How many operations a script times (its `-- ops: N` line), if it says."""
    found = OPS.search(script.read_bytes())
    return int(found.group(1)) if found else None


def fmt_per_op(seconds):
    if seconds is None:
        return "—"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def start_up(tessera, runs, timeout):
    """The best time of `tessera run` on an empty script: what a run costs before its work."""
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.lua"
        empty.write_bytes(b"")
        seconds, _, error = best_of([str(tessera), "run", empty.name], runs, timeout, empty.parent)
    if error:
        print(f"warning: an empty run failed ({error}): no per-operation figures", file=sys.stderr)
    return seconds


def run_notes(lua, ref_err, ref_out, tes_err, tes_out):
    """What went wrong in one benchmark's pair of runs: a failure of either, or outputs that
    differ (then the benchmark is left out of the mean)."""
    notes = []
    if ref_err:
        notes.append(f"{lua} failed: {ref_err}")
    if tes_err:
        notes.append(f"tessera failed: {tes_err}")
    elif not ref_err and tes_out != ref_out:
        notes.append("MISMATCH")
    return notes


def note_luajit(notes, error, output, reference):
    """Notes a luajit run that failed or whose output differs from lua5.4's."""
    if error:
        notes.append(f"luajit failed: {error}")
    elif output != reference:
        notes.append("luajit output differs")


def print_table(header, rows):
    """Prints a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


VALGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
SMALL = ["-e", "BENCH_SMALL=true"]
COLLECTED = re.compile(rb"^==\d+== Collected : (\d+)\s*$", re.MULTILINE)
FUEL_USED = re.compile(rb"^tessera: fuel used: (\d+) units", re.MULTILINE)


def callgrind_once(command, timeout, cwd=BENCH_DIR):
    """Returns (instructions, stdout, stderr, error) for one run of `command` under callgrind."""
    try:
        proc = subprocess.run(
            VALGRIND + command, cwd=cwd, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, b"", b"", "timeout"
    except OSError as err:
        return None, b"", b"", str(err)
    counts = COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not counts:
        # The program's own last words, not valgrind's summary.
        lines = [
            line
            for line in proc.stderr.decode(errors="replace").strip().splitlines()
            if not re.match(r"==\d+==", line)
        ]
        if proc.returncode != 0:
            return None, proc.stdout, proc.stderr, lines[-1] if lines else f"exit {proc.returncode}"
        return None, proc.stdout, proc.stderr, "no 'Collected' line from callgrind"
    return int(counts[-1]), proc.stdout, proc.stderr, None


def fmt_count(value):
    return "—" if value is None else f"{value:,}"


def fmt_per_fuel(instructions, fuel):
    return "—" if not instructions or not fuel else f"{instructions / fuel:.2f}"


def fmt_ratio(value, bold=False):
    if value is None:
        return "—"
    return f"**{value:.2f}x**" if bold else f"{value:.2f}x"


def run_callgrind(args, scripts, tessera, use_luajit):
    """The --callgrind mode: machine instructions per benchmark, and per unit of fuel."""
    timeout = 1200.0 if args.timeout is None else args.timeout
    header = [
        "benchmark",
        f"{args.lua} Ir",
        "tessera Ir",
        "ratio",
        "fuel",
        f"{args.lua} Ir/fuel",
        "tessera Ir/fuel",
    ]
    if use_luajit:
        header += ["luajit -joff Ir", "tessera/luajit"]
    header.append("output")
    rows, ratios, jit_ratios, ref_per_fuel, tes_per_fuel = [], [], [], [], []
    for script in scripts:
        name = script.stem
        print(f"callgrind {name} ...", file=sys.stderr)
        ref_ir, ref_out, _, ref_err = callgrind_once(
            [args.lua] + SMALL + [script.name], timeout, script.parent
        )
        tes_ir, tes_out, tes_stderr, tes_err = callgrind_once(
            [str(tessera), "--stats"] + SMALL + [script.name], timeout, script.parent
        )
        fuel = None
        notes = []
        if ref_err:
            notes.append(f"{args.lua} failed: {ref_err}")
        if tes_err:
            notes.append(f"tessera failed: {tes_err}")
        else:
            found = FUEL_USED.findall(tes_stderr)
            if found:
                fuel = int(found[-1])
            else:
                notes.append("no fuel line from tessera --stats")
            if not ref_err and tes_out != ref_out:
                notes.append("MISMATCH")
        ratio = tes_ir / ref_ir if ref_ir and tes_ir else None
        if ratio is not None and not notes:
            ratios.append(ratio)
            ref_per_fuel.append(ref_ir / fuel)
            tes_per_fuel.append(tes_ir / fuel)
        row = [
            name,
            fmt_count(ref_ir),
            fmt_count(tes_ir),
            fmt_ratio(ratio),
            fmt_count(fuel),
            fmt_per_fuel(ref_ir, fuel),
            fmt_per_fuel(tes_ir, fuel),
        ]
        if use_luajit:
            jit_ir, jit_out, _, jit_err = callgrind_once(
                ["luajit", "-joff"] + SMALL + [script.name], timeout, script.parent
            )
            jit_ratio = tes_ir / jit_ir if jit_ir and tes_ir else None
            note_luajit(notes, jit_err, jit_out, ref_out)
            if jit_ratio is not None:
                jit_ratios.append(jit_ratio)
            row += [fmt_count(jit_ir), fmt_ratio(jit_ratio)]
        row.append("; ".join(notes) if notes else "ok")
        rows.append(row)

    ref_mean, tes_mean = geomean(ref_per_fuel), geomean(tes_per_fuel)
    last = [
        "**geometric mean**",
        "",
        "",
        fmt_ratio(geomean(ratios), bold=True),
        "",
        "—" if ref_mean is None else f"{ref_mean:.2f}",
        "—" if tes_mean is None else f"{tes_mean:.2f}",
    ]
    if use_luajit:
        last += ["", fmt_ratio(geomean(jit_ratios), bold=True)]
    last.append(f"{len(ratios)} of {len(rows)} comparable")
    rows.append(last)

    print_table(header, rows)
    return 0


GNU_TIME = "/usr/bin/time"


def rss_once(command, timeout, cwd=BENCH_DIR):
    """Returns (peak resident KB, stdout, error) for one run of `command` under GNU time."""
    try:
        proc = subprocess.run(
            [GNU_TIME, "-f", "%M"] + command, cwd=cwd, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, b"", "timeout"
    except OSError as err:
        return None, b"", str(err)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0:
        # GNU time prints "Command exited with non-zero status N" before its format.
        return None, proc.stdout, lines[0] if lines else f"exit {proc.returncode}"
    try:
        return int(lines[-1]), proc.stdout, None
    except (IndexError, ValueError):
        return None, proc.stdout, "no peak RSS from GNU time"


def run_rss(args, scripts, tessera, timeout):
    header = ["benchmark", f"{args.lua} peak KB", "tessera peak KB", "ratio", "output"]
    rows, ratios = [], []
    for script in scripts:
        name = script.stem
        print(f"measuring {name} ...", file=sys.stderr)
        ref_kb, ref_out, ref_err = rss_once([args.lua, script.name], timeout, script.parent)
        tes_kb, tes_out, tes_err = rss_once([str(tessera), "run", script.name], timeout, script.parent)
        notes = run_notes(args.lua, ref_err, ref_out, tes_err, tes_out)
        ratio = tes_kb / ref_kb if ref_kb and tes_kb else None
        if ratio is not None and not notes:
            ratios.append(ratio)
        rows.append(
            [
                name,
                "—" if ref_kb is None else f"{ref_kb:,}",
                "—" if tes_kb is None else f"{tes_kb:,}",
                "—" if ratio is None else f"{ratio:.2f}x",
                "; ".join(notes) if notes else "ok",
            ]
        )
    mean = geomean(ratios)
    worst = max(ratios) if ratios else None
    rows.append(
        [
            "**geometric mean**",
            "",
            "",
            "—" if mean is None else f"**{mean:.2f}x**",
            f"{len(ratios)} of {len(scripts)} comparable; highest {'—' if worst is None else f'{worst:.2f}x'}",
        ]
    )
    print_table(header, rows)
    return 0


def main():
    args = parse_args()
    scripts = sorted(Path(args.dir).glob("*.lua"))
    if args.filter:
        scripts = [s for s in scripts if any(f in s.stem for f in args.filter)]
    if not scripts:
        sys.exit("no benchmark matches")
    if args.callgrind and shutil.which("valgrind") is None:
        print("valgrind not found: --callgrind needs it (e.g. apt-get install valgrind)", file=sys.stderr)
        return 2

    tessera = Path(args.tessera)
    if not tessera.is_file():
        sys.exit(f"tessera binary not found at {tessera} (build it with `cargo build --release`)")
    if shutil.which(args.lua) is None:
        sys.exit(f"reference interpreter {args.lua!r} not found")
    use_luajit = args.luajit and shutil.which("luajit") is not None
    if args.luajit and not use_luajit:
        print("warning: luajit not found, skipping that column", file=sys.stderr)
    if args.callgrind:
        return run_callgrind(args, scripts, tessera, use_luajit)
    timeout = 120.0 if args.timeout is None else args.timeout
    if args.rss:
        if not Path(GNU_TIME).is_file():
            print(f"{GNU_TIME} not found: --rss needs GNU time (e.g. apt-get install time)", file=sys.stderr)
            return 2
        return run_rss(args, scripts, tessera, timeout)

    header = ["benchmark", f"{args.lua} s", "tessera s", "ratio"]
    if use_luajit:
        header += ["luajit -joff s", "tessera/luajit"]
    counted = {script: script_ops(script) for script in scripts}
    base = None
    if any(counted.values()):
        # Scripts that count their operations (the process ones) get tessera's time per
        # operation, with an empty run's start-up taken off.
        header.append("tessera per op")
        base = start_up(tessera, args.runs, timeout)
    header.append("output")
    rows, ratios, jit_ratios = [], [], []
    for script in scripts:
        name = script.stem
        print(f"running {name} ...", file=sys.stderr)
        ref_time, ref_out, ref_err = best_of([args.lua, script.name], args.runs, timeout, script.parent)
        tes_time, tes_out, tes_err = best_of(
            [str(tessera), "run", script.name], args.runs, timeout, script.parent
        )
        notes = run_notes(args.lua, ref_err, ref_out, tes_err, tes_out)
        ratio = tes_time / ref_time if ref_time and tes_time else None
        if ratio is not None and not notes:
            ratios.append(ratio)
        row = [name, fmt_seconds(ref_time), fmt_seconds(tes_time), "—" if ratio is None else f"{ratio:.2f}x"]
        if use_luajit:
            jit_time, jit_out, jit_err = best_of(
                ["luajit", "-joff", script.name], args.runs, timeout, script.parent
            )
            jit_ratio = tes_time / jit_time if jit_time and tes_time else None
            note_luajit(notes, jit_err, jit_out, ref_out)
            if jit_ratio is not None:
                jit_ratios.append(jit_ratio)
            row += [fmt_seconds(jit_time), "—" if jit_ratio is None else f"{jit_ratio:.2f}x"]
        if any(counted.values()):
            ops = counted[script]
            per_op = None
            if ops and tes_time is not None and base is not None and not tes_err:
                per_op = max(tes_time - base, 0.0) / ops
            row.append(fmt_per_op(per_op))
        row.append("; ".join(notes) if notes else "ok")
        rows.append(row)

    mean = geomean(ratios)
    last = ["**geometric mean**", "", "", "—" if mean is None else f"**{mean:.2f}x**"]
    if use_luajit:
        jit_mean = geomean(jit_ratios)
        last += ["", "—" if jit_mean is None else f"**{jit_mean:.2f}x**"]
    if any(counted.values()):
        last.append("" if base is None else f"start-up {base * 1000:.1f} ms")
    last.append(f"{len(ratios)} of {len(rows)} comparable")
    rows.append(last)

    print_table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
