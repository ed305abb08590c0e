#!/bin/sh
# Regenerates every expected-output file of the conformance corpus with the reference
# interpreter. Run it from anywhere; scripts run from this directory so that chunk names are
# bare file names. Only stdout is recorded.
set -eu
cd "$(dirname "$0")"
LUA="${LUA:-lua5.4}"
for script in *.lua; do
    "$LUA" "$script" > "${script%.lua}.out"
done
echo "regenerated $(ls *.lua | wc -l) expected outputs with $LUA"
