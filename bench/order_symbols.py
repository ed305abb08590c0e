#!/usr/bin/env python3
"""Writes shell/symbol-order.txt: the functions of the `tessera` binary that typical runs
execute, those that more of the runs execute first (then the most executed first).

The release build hands the file to the linker (`shell/build.rs`, lld's
`--symbol-ordering-file`), which puts those functions next to each other. A run then
touches a few hundred kilobytes of code instead of pages scattered over all of it (the
kernel maps a binary's pages in 64 KB blocks around each one touched), which is most of
what a small script's peak resident memory was. Names that are no longer in the binary are
skipped by the linker, so a stale file only loses some of the effect: run this again after
large changes, or a new toolchain (symbol names carry a hash of the compiler's version).

Usage: cargo build --release && python3 bench/order_symbols.py [--tessera PATH]
Needs valgrind (callgrind) and nm.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a typical run does: the benchmark scripts at their small size (the interpreter, the
# libraries, the collector), the process benchmarks (spawn, calls between processes) and
# the tour (keys, gateways, snapshots).
RUNS = [
    *(["run", "-e", "BENCH_SMALL=true", str(p)] for p in sorted((ROOT / "bench").glob("*.lua"))),
    *(["run", str(p)] for p in sorted((ROOT / "bench" / "processes").glob("*.lua"))),
    ["run", "--memory", "64M", str(ROOT / "examples" / "tour.lua")],
]

NAME = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")


def executed(out_file: Path, binary: str, cost: collections.Counter) -> None:
    """Adds each function of `binary` in a callgrind output to `cost` with its instructions."""
    objects, functions = {}, {}
    current_object = current_function = None
    with open(out_file, errors="replace") as f:
        for line in f:
            m = NAME.match(line.rstrip("\n"))
            if m:
                kind, number, name = m.groups()
                table = objects if kind.endswith("ob") else functions
                if name:
                    table[number] = name
                if kind == "ob":
                    current_object = objects.get(number)
                elif kind == "fn":
                    current_function = functions.get(number)
                continue
            if line[:1].isdigit() and current_function and current_object == binary:
                fields = line.split()
                if len(fields) >= 2 and fields[1].isdigit():
                    cost[current_function] += int(fields[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", default=str(ROOT / "target" / "release" / "tessera"))
    parser.add_argument("--out", default=str(ROOT / "shell" / "symbol-order.txt"))
    args = parser.parse_args()
    binary = os.path.realpath(args.tessera)
    cost: collections.Counter = collections.Counter()
    # In how many runs each function ran: what every run needs (start-up, the compiler, the
    # interpreter's core) goes first, so a small script touches one stretch of code.
    runs: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, run in enumerate(RUNS):
            out = Path(tmp) / f"callgrind.{i}"
            print("callgrind", " ".join(run[1:])[-60:], file=sys.stderr)
            subprocess.run(
                ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}",
                 binary, *run],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )
            if out.exists():
                this_run: collections.Counter = collections.Counter()
                executed(out, binary, this_run)
                cost.update(this_run)
                runs.update(this_run.keys())
    listed = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    code = {f[2] for f in (l.split() for l in listed.splitlines()) if len(f) == 3 and f[1] in "tTwW"}
    hot = sorted((name for name in cost if name in code), key=lambda n: (-runs[n], -cost[n], n))
    Path(args.out).write_text("".join(f"{name}\n" for name in hot))
    print(f"{len(hot)} functions written to {args.out}", file=sys.stderr)
    return 0 if hot else 1


if __name__ == "__main__":
    sys.exit(main())
