#!/bin/sh
# Regenerates every expected-output file of the conformance corpus with the reference
# interpreter (lua5.4). Run it from anywhere; scripts run from this directory so that chunk
# names are bare file names. Only stdout is recorded.
#
# Tessera has no io, os, require, debug, package, dofile, loadfile, string.dump,
# so they are removed from the reference interpreter
# before each script runs.
set -eu
cd "$(dirname "$0")"
LUA="${LUA:-lua5.4}"
STRIP='io, os, require, debug, package, dofile, loadfile = nil; string.dump = nil'
count=0
for script in *.lua; do
    "$LUA" -e "$STRIP" "$script" > "${script%.lua}.out"
    count=$((count + 1))
done
echo "regenerated $count expected outputs with $LUA"
