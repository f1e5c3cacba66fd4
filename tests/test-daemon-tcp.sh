#!/usr/bin/env bash
# uringblkd on TCP (loopback only): TLS with pre-shared keys is required,
# so a plain client is refused and a TLS client is served, with
# multi-conn; and plain TCP only with --insecure.

test_timeout=90
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdinfo nbdsh psktool
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

truncate -s 64M "$tmpdir/disk.img"
psktool -u alice -p "$tmpdir/keys.psk" >/dev/null 2>&1 || fail "psktool"

# serve LOG ADDR-FORMAT ARGS...: start on a free port; sets $port, $dpid.
# ADDR-FORMAT has %d where the port goes.
serve ()
{
    local log="$1" fmt="$2" try
    shift 2
    for try in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 20000 ))
        "$uringblkd" --plugin "$PLUGIN" --listen "$(printf "$fmt" $port)" \
            "$@" "$tmpdir/disk.img" >"$log" 2>&1 &
        dpid=$!
        cleanup_push "kill $dpid 2>/dev/null"
        sleep 0.5
        kill -0 "$dpid" 2>/dev/null && return 0
        grep -q 'Address already in use' "$log" || break
    done
    cat "$log" >&2
    fail "uringblkd did not start"
}

stop ()
{
    kill -TERM "$dpid"
    wait "$dpid" || fail "exit status $? after SIGTERM"
}

# 1. TLS-PSK required.
serve "$tmpdir/tls.log" '127.0.0.1:%d' --tls-psk "$tmpdir/keys.psk"
tls_uri="nbds://alice@127.0.0.1:$port/?tls-psk-file=$tmpdir/keys.psk"
wait_for 30 nbdinfo --size "$tls_uri" >/dev/null 2>&1 ||
    { cat "$tmpdir/tls.log" >&2; fail "TLS client not served"; }
[ "$(nbdinfo --size "$tls_uri")" -eq $((64 << 20)) ] || fail "size over TLS"
nbdinfo --can multi-conn "$tls_uri" || fail "no multi-conn over TLS"
nbdinfo --size "nbd://127.0.0.1:$port/" >/dev/null 2>&1 &&
    fail "a plain client was served by a TLS-only server"
# Data through TLS, on two connections.  Clients shut down cleanly:
# nbdkit 1.32.5 can use freed memory in GnuTLS when a TLS client just
# closes while a reply is being sent (docs/SECURITY.md).
nbdsh -c "
h.set_uri_allow_local_file(True)
h.connect_uri('$tls_uri')
h2 = nbd.NBD()
h2.set_uri_allow_local_file(True)
h2.connect_uri('$tls_uri')
h.pwrite(b'tls!' * 1024, 8192)
h.flush()
assert h2.pread(4096, 8192) == b'tls!' * 1024
h.shutdown()
h2.shutdown()
"
stop

# 2. Plain TCP with --insecure, on IPv6 loopback if there is one.
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
    fmt='[::1]:%d'; host='[::1]'
else
    fmt='127.0.0.1:%d'; host=127.0.0.1
fi
serve "$tmpdir/plain.log" "$fmt" --insecure
wait_for 30 nbdinfo --size "nbd://$host:$port/" >/dev/null 2>&1 ||
    { cat "$tmpdir/plain.log" >&2; fail "plain client not served on $host"; }
nbdsh -u "nbd://$host:$port/" -c '
assert h.pread(4096, 8192) == b"tls!" * 1024
h.shutdown()
'
stop
