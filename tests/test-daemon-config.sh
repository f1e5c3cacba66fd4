#!/usr/bin/env bash
# uringblkd configuration files: every option works as "key = value";
# a bad file is refused with exit status 2 and a message naming the
# file, the line and the key, before anything is created or started.

test_timeout=60
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdinfo
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

truncate -s 16M "$tmpdir/disk.img"

# A stand-in for nbdkit that records being run: a refused configuration
# must not get that far.
cat > "$tmpdir/fake-nbdkit" <<EOF2
#!/bin/sh
touch "$tmpdir/nbdkit-was-run"
exit 1
EOF2
chmod +x "$tmpdir/fake-nbdkit"

# expect_refused NAME EXPECTED-MESSAGE-REGEXP < CONFIG
expect_refused ()
{
    local conf="$tmpdir/$1.conf" status=0
    cat > "$conf"
    "$uringblkd" --nbdkit "$tmpdir/fake-nbdkit" --plugin "$PLUGIN" \
        --state-directory "$tmpdir/state" \
        --runtime-directory "$tmpdir/run" \
        --config "$conf" >"$tmpdir/out" 2>&1 || status=$?
    [ "$status" -eq 2 ] || { cat "$tmpdir/out" >&2;
                             fail "$1: exit status $status, expected 2"; }
    grep -Eq "$2" "$tmpdir/out" || { cat "$tmpdir/out" >&2;
                                     fail "$1: message does not match '$2'"; }
    for f in "$tmpdir/state" "$tmpdir/run" "$tmpdir/nbdkit-was-run"; do
        [ -e "$f" ] && fail "$1: $f was created"
    done
    return 0
}

c="$tmpdir"
expect_refused unknown-key "^uringblkd: $c/unknown-key.conf:3: no-such-key: unknown key\$" <<EOF2
# comment
backing = $tmpdir/disk.img
no-such-key = 1
EOF2
expect_refused bad-number "$c/bad-number.conf:2: connections: expected a number from 1 to 16" <<EOF2

connections = 99
EOF2
expect_refused not-a-number "$c/not-a-number.conf:1: dead-timeout: expected a number of seconds" <<EOF2
dead-timeout = soon
EOF2
expect_refused no-equals "$c/no-equals.conf:2: device: expected '=' after the key" <<EOF2
backing = $tmpdir/disk.img
device /dev/nbd0
EOF2
expect_refused no-value "$c/no-value.conf:1: socket: missing value" <<EOF2
socket =
EOF2
expect_refused relative-socket "$c/relative-socket.conf:1: socket: expected an absolute path" <<EOF2
socket = relative.sock
EOF2
expect_refused bad-bool "$c/bad-bool.conf:1: readonly: expected yes or no" <<EOF2
readonly = perhaps
EOF2
expect_refused bad-device "$c/bad-device.conf:1: device: expected /dev/nbdN or auto" <<EOF2
device = /dev/sda
EOF2
expect_refused bad-listen "$c/bad-listen.conf:1: listen: expected IPV4:PORT" <<EOF2
listen = localhost:10809
EOF2
expect_refused nested "$c/nested.conf:1: config: only allowed on the command line" <<EOF2
config = /etc/passwd
EOF2
expect_refused bad-size "$c/bad-size.conf:1: default-size: expected a size" <<EOF2
default-size = 1X
EOF2
expect_refused no-key "$c/no-key.conf:1: expected 'key = value'" <<EOF2
= value
EOF2
expect_refused bad-param "$c/bad-param.conf:1: plugin-param: expected KEY=VALUE" <<EOF2
plugin-param = direct
EOF2
printf 'backing = x\nname = a\0b\n' |
    expect_refused nul "$c/nul.conf:2: NUL byte in line"
# Options that are each fine but do not go together.
expect_refused tcp-no-tls "listen 127.0.0.1:10809: TCP needs tls-psk or tls-certificates" <<EOF2
listen = 127.0.0.1:10809
EOF2
expect_refused device-tls "device: the kernel NBD client cannot use TLS" <<EOF2
device = auto
tls-psk = /etc/uringblk/psk
EOF2
expect_refused device-listen "device and listen cannot be combined" <<EOF2
device = /dev/nbd0
listen = 127.0.0.1:10809
insecure = yes
EOF2

# A missing configuration file, and a bad command-line value.
status=0
"$uringblkd" --config "$tmpdir/none.conf" >"$tmpdir/out" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "$tmpdir/none.conf: No such file" "$tmpdir/out" ||
    fail "missing config file: status $status, $(cat "$tmpdir/out")"
status=0
"$uringblkd" --connections 0 "$tmpdir/disk.img" >"$tmpdir/out" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q -- "--connections 0: expected a number" "$tmpdir/out" ||
    fail "bad --connections: status $status, $(cat "$tmpdir/out")"

# A missing backing is a clear run-time error (exit 1), still before
# anything is created.
status=0
"$uringblkd" --nbdkit "$tmpdir/fake-nbdkit" --plugin "$PLUGIN" \
    --runtime-directory "$tmpdir/run" "$tmpdir/missing.img" \
    >"$tmpdir/out" 2>&1 || status=$?
[ "$status" -eq 1 ] &&
    grep -q "backing $tmpdir/missing.img: No such file or directory" "$tmpdir/out" ||
    fail "missing backing: status $status, $(cat "$tmpdir/out")"
[ -e "$tmpdir/run" ] && fail "missing backing: runtime directory created"

# Without the nbd module, --device says how to get it (exit 1).
if [ ! -d /sys/module/nbd ]; then
    status=0
    "$uringblkd" --nbdkit "$tmpdir/fake-nbdkit" --plugin "$PLUGIN" \
        --runtime-directory "$tmpdir/run" --device auto "$tmpdir/disk.img" \
        >"$tmpdir/out" 2>&1 || status=$?
    [ "$status" -eq 1 ] &&
        grep -q "the nbd kernel module is not loaded (run: modprobe nbd)" "$tmpdir/out" ||
        fail "no nbd module: status $status, $(cat "$tmpdir/out")"
    [ -e "$tmpdir/run" ] && fail "no nbd module: runtime directory created"
fi

#----------------------------------------------------------------------
# A good file: '_' and upper case in keys, blanks, comments; options on
# the command line after --config override it.
cat > "$tmpdir/good.conf" <<EOF2
# uringblk test instance
   backing   =   $tmpdir/disk.img
Socket_Group = 0
runtime_directory = $tmpdir/run
readonly = no
plugin-param = direct=auto
EOF2
"$uringblkd" --plugin "$PLUGIN" --config "$tmpdir/good.conf" --readonly \
    >"$tmpdir/good.log" 2>&1 &
dpid=$!
cleanup_push "kill $dpid 2>/dev/null"
# The instance is named after the file: good.conf -> good.sock.
wait_for 30 test -S "$tmpdir/run/good.sock" || fail "no socket"
uri="nbd+unix:///?socket=$tmpdir/run/good.sock"
wait_for 30 nbdinfo --size "$uri" >/dev/null 2>&1 || fail "not serving"
nbdinfo --is read-only "$uri" || { cat "$tmpdir/good.log" >&2; fail "not read-only"; }
[ "$(nbdinfo --size "$uri")" -eq $((16 << 20)) ] || fail "size"
kill -TERM "$dpid"
wait "$dpid" || fail "exit status $? after SIGTERM"
