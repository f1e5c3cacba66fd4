#!/usr/bin/env bash
# uringblk: bad parameters and unusable backings are refused at start-up.
#
# nbdkit must exit with status 1 before serving anything, and its error
# message must name the problem (the parameter and value, or the file
# and what is wrong with it).  A good configuration started the same way
# (with --run true) exits 0, so the harness itself is checked too.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit

good="$tmpdir/good.img"
make_sparse "$good" 1M
make_sparse "$tmpdir/empty.img" 0
make_sparse "$tmpdir/odd.img" 1000
mkdir "$tmpdir/dir"

# expect_refused 'ERE MATCHING THE MESSAGE' PARAMS...
expect_refused ()
{
    local want="$1" status=0
    shift
    rm -f "$tmpdir/sock"
    timeout 30 nbdkit -U "$tmpdir/sock" "$PLUGIN" "$@" --run true \
            >"$tmpdir/out" 2>&1 || status=$?
    if [ "$status" -ne 1 ]; then
        cat "$tmpdir/out" >&2
        fail "nbdkit $* exited with status $status, expected 1"
    fi
    if ! grep -qE -- "$want" "$tmpdir/out"; then
        cat "$tmpdir/out" >&2
        fail "nbdkit $*: the error does not match '$want'"
    fi
    [ ! -e "$tmpdir/sock" ] || fail "nbdkit $* left a socket behind"
    msg "refused as expected: $* ($(head -n1 "$tmpdir/out"))"
}

# The control: this must start and exit cleanly.
timeout 30 nbdkit -U "$tmpdir/sock" "$PLUGIN" file="$good" --run true ||
    fail "a good configuration did not start"

# Parameter values.
expect_refused 'invalid direct=maybe'         file="$good" direct=maybe
expect_refused 'invalid fua=sometimes'        file="$good" fua=sometimes
expect_refused 'invalid uring=yes'            file="$good" uring=yes
expect_refused 'invalid fixed-buffers=maybe'  file="$good" fixed-buffers=maybe
expect_refused 'invalid fixed-file=maybe'     file="$good" fixed-file=maybe
expect_refused 'invalid setup-flags=all'      file="$good" setup-flags=all
expect_refused 'invalid buffer-size=3000'     file="$good" buffer-size=3000
expect_refused 'invalid buffer-size=2K'       file="$good" buffer-size=2K
expect_refused 'invalid buffer-size=128M'     file="$good" buffer-size=128M
expect_refused 'invalid buffer-size=-4K'      file="$good" buffer-size=-4K
expect_refused 'invalid buffer-size=: '       file="$good" buffer-size=
expect_refused 'invalid buffers=0'            file="$good" buffers=0
expect_refused 'invalid buffers=65'           file="$good" buffers=65
expect_refused 'invalid buffers=abc'          file="$good" buffers=abc
expect_refused "unknown parameter 'colour'"   file="$good" colour=blue

# Backings.
expect_refused 'file=<FILENAME>'
expect_refused "$tmpdir/missing.img: No such file or directory" \
               file="$tmpdir/missing.img"
expect_refused "$tmpdir/dir: .*(not a regular file|Is a directory)" \
               file="$tmpdir/dir"
expect_refused "/dev/null: .*not a regular file" file=/dev/null
expect_refused "$tmpdir/empty.img: .*empty \\(size 0\\)" \
               file="$tmpdir/empty.img"
expect_refused "$tmpdir/odd.img: size 1000 is not a multiple of the logical block size 512" \
               file="$tmpdir/odd.img"
