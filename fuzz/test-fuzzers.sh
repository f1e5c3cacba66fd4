#!/usr/bin/env bash
# Run every libFuzzer harness briefly (20000 inputs each from the seed
# corpus): a memory error, undefined behaviour, a broken parser contract
# or a hang in any parser fails the test.  "make -C fuzz fuzz" runs them
# longer.
set -eu
: "${abs_builddir:?}" "${srcdir:=.}"
exec timeout -k 10 120 "$srcdir/run-fuzzers" -d "$abs_builddir" -n "${FUZZ_RUNS:-20000}"
