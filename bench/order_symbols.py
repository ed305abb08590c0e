#!/usr/bin/env python3
"""Writes shell/symbol-order.txt: the functions of the `tessera` binary that typical runs
execute, those every start-up executes first, then those that more of the runs execute (then
the most executed first).

The release build hands the file to the linker (`shell/build.rs`, lld's
`--symbol-ordering-file`), which puts those functions next to each other. A run then
touches a few hundred kilobytes of code instead of pages scattered over all of it (the
kernel maps a binary's pages in 64 KB blocks around each one touched), which is most of
what a small script's peak resident memory was. The start-up (an empty script, and an empty
`-e` chunk: the command line, the library image, the console) comes first, in one stretch,
as every run needs all of it; then the compiler, the interpreter and the libraries, by the
number of runs that need them.

Callgrind runs the code valgrind's CPU has: where the real one runs another version of a
function (SHA-256 with the SHA extensions), `COMPANIONS` names it, and it goes where the one
executed goes. Names that are no longer in the binary are skipped by the linker, so a stale
file only loses some of the effect: run this again after large changes, or a new toolchain
(symbol names carry a hash of the compiler's version).

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
# What every run does: the start-up, with an empty script read from a file and an empty -e.
EMPTY_SCRIPT = "empty.lua"
START_UP = [["run", EMPTY_SCRIPT], ["run", "-e", ""]]
# Start-up code callgrind does not name: the C entry point runs before it starts counting.
ENTRY = ["_start"]
# What a typical run does: the benchmark scripts at their small size (the interpreter, the
# libraries, the collector), the process benchmarks (spawn, calls between processes) and
# the tour (keys, gateways, snapshots).
RUNS = [
    *(["run", "-e", "BENCH_SMALL=true", str(p)] for p in sorted((ROOT / "bench").glob("*.lua"))),
    *(["run", str(p)] for p in sorted((ROOT / "bench" / "processes").glob("*.lua"))),
    ["run", "--memory", "64M", str(ROOT / "examples" / "tour.lua")],
]

NAME = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")
# Functions the real CPU runs in place of one callgrind sees run (valgrind's CPU lacks the SHA
# extensions): a pattern of the executed one's name, and one of the names placed with it.
COMPANIONS = [
    (re.compile(r"sha2\d+sha256\d+compress256"), re.compile(r"sha2\d+sha256\d+x86\d+digest_blocks")),
]


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
                    # Callgrind names a recursive function's inner levels `name'2`.
                    table[number] = re.sub(r"'\d+$", "", name)
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
    listed = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    symbols = [f for f in (l.split() for l in listed.splitlines()) if len(f) == 3]
    code = {name for _, kind, name in symbols if kind in "tTwW"}
    # Callgrind names code without debug information (the C start-up files' `_start`) by its
    # address.
    at = {int(address, 16): name for address, kind, name in symbols if kind in "tT"}
    cost: collections.Counter = collections.Counter()
    # In how many runs each function ran: what every run needs (start-up, the compiler, the
    # interpreter's core) goes first, so a small script touches one stretch of code.
    runs: collections.Counter = collections.Counter()
    start_up: set = set()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / EMPTY_SCRIPT).write_text("")
        for i, run in enumerate(START_UP + RUNS):
            out = Path(tmp) / f"callgrind.{i}"
            print("callgrind", " ".join(run[1:])[-60:], file=sys.stderr)
            run = [str(Path(tmp) / a) if a == EMPTY_SCRIPT else a for a in run]
            subprocess.run(
                ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}",
                 binary, *run],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )
            if out.exists():
                this_run: collections.Counter = collections.Counter()
                executed(out, binary, this_run)
                for name in [n for n in this_run if re.fullmatch(r"0x[0-9a-f]+", n)]:
                    if int(name, 16) in at:
                        this_run[at[int(name, 16)]] += this_run.pop(name)
                cost.update(this_run)
                runs.update(this_run.keys())
                if i < len(START_UP):
                    start_up.update(this_run.keys())
    for name in ENTRY:
        cost[name] += 1
        runs[name] = len(START_UP + RUNS)
        start_up.add(name)
    for ran, companion in COMPANIONS:
        for name in [n for n in cost if ran.search(n)]:
            for other in (n for n in code if companion.search(n)):
                runs[other] = max(runs[other], runs[name])
                cost[other] = max(cost[other], cost[name])
                if name in start_up:
                    start_up.add(other)
    hot = sorted(
        (name for name in cost if name in code),
        key=lambda n: (n not in start_up, -runs[n], -cost[n], n),
    )
    Path(args.out).write_text("".join(f"{name}\n" for name in hot))
    first = sum(1 for name in hot if name in start_up)
    print(f"{len(hot)} functions written to {args.out}, the start-up's {first} first",
          file=sys.stderr)
    return 0 if hot else 1

if __name__ == "__main__":
    sys.exit(main())
