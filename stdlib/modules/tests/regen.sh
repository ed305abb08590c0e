#!/bin/sh
# Regenerates the expected outputs of the bundled-module tests with the reference interpreter
# (lua5.4). Each test script runs as `local <name> = (function() <module source> end)()`
# followed by the test body, which is exactly what tests/tests/bundled_modules.rs runs
# through Tessera. Tessera has no io, os, require, debug, package, dofile, loadfile or
# string.dump, so they are removed from the reference interpreter first.
set -eu
cd "$(dirname "$0")"
LUA="${LUA:-lua5.4}"
STRIP='io, os, require, debug, package, dofile, loadfile = nil; string.dump = nil'
for name in json pretty; do
    {
        printf 'local %s = (function()\n' "$name"
        cat "../$name.lua"
        printf '\nend)()\n'
        cat "${name}_test.lua"
    } | "$LUA" -e "$STRIP" - > "${name}_test.out"
done
echo "regenerated json_test.out and pretty_test.out with $LUA"
