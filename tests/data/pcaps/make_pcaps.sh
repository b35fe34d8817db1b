#!/usr/bin/env bash
# Regenerate the committed analysis fixtures in this directory.
#
# Needs root, tcpdump, openssl, ethtool, nft and python3. Everything runs in a
# throwaway network namespace, so the drop rules, servers and MTU change never
# touch the host's own loopback. Each TLS capture gets the client's key log
# (<name>.keys) so Wireshark can decrypt it.
#
#   sudo tests/data/pcaps/make_pcaps.sh            # all fixtures
#   sudo tests/data/pcaps/make_pcaps.sh --bulk F N [M]
#       no fixtures: capture N bytes of bulk TCP into F, dropping about one
#       segment in M if M is given (speed and agreement checks)
#
# tcp_retrans.pcap drops at random, so a new one has other counts: update
# test_committed_retransmission_capture_counts in tests/unit/test_analysis_tcp.py
# from tshark. The TLS captures come out with the same message layout each time.
set -euo pipefail

OUT=$(cd "$(dirname "$0")" && pwd)
NS=tlslab-pcaps-$$
WORK=$(mktemp -d)
SNI=server.tlslab.test

cleanup() {
    local pid
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
in_ns ip link set lo up
# Ethernet-sized segments: without this, loopback's 64 KiB MTU and TSO turn a
# transfer into a handful of giant segments.
in_ns ip link set lo mtu 1500
in_ns ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true

# start_capture FILE FILTER [tcpdump args...]: sets CAP_PID.
start_capture() {
    local file=$1 filter=$2
    shift 2
    # Not through in_ns: a backgrounded function is a subshell that ignores
    # SIGINT, and tcpdump must get it to flush and exit. Immediate mode, or
    # packets still in the kernel ring when it stops are lost.
    ip netns exec "$NS" tcpdump -i lo -U --immediate-mode -Z root -w "$file" "$@" "$filter" 2>>"$WORK/tcpdump.log" &
    CAP_PID=$!
    sleep 1
}

stop_capture() {
    sleep 0.5
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
}

wait_listen() {
    local port=$1 i
    for i in $(seq 50); do
        in_ns ss -ltn "sport = :$port" | grep -q LISTEN && return 0
        sleep 0.1
    done
    echo "nothing listens on $port" >&2
    return 1
}

# Bulk sender/receiver: the receiver can stall to force a zero window.
BULK_PY='
import socket, sys, time
role, port, total, stall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
if role == "server":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if stall:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.bind(("127.0.0.1", port)); s.listen(1)
    c, _ = s.accept()
    got = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
        if stall and got > total // 3:
            time.sleep(stall); stall = 0
    c.sendall(b"done %d\n" % got); c.close()
else:
    c = socket.create_connection(("127.0.0.1", port))
    block = bytes(range(256)) * 64
    sent = 0
    while sent < total:
        sent += c.send(block[: min(len(block), total - sent)])
    c.shutdown(socket.SHUT_WR)
    c.recv(100); c.close()
'

bulk() {
    local port=$1 total=$2 stall=$3
    in_ns python3 -c "$BULK_PY" server "$port" "$total" "$stall" &
    local srv=$!
    wait_listen "$port"
    in_ns timeout 120 python3 -c "$BULK_PY" client "$port" "$total" 0
    wait "$srv"
}

if [[ ${1:-} == --bulk ]]; then
    if [[ -n ${4:-} ]]; then
        in_ns nft -f - <<EOF
table inet tlslab_drop {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 5999 tcp flags & (syn | fin) == 0 numgen random mod $4 == 0 drop
        tcp sport 5999 tcp flags & (syn | fin) == 0 numgen random mod $4 == 0 drop
    }
}
EOF
    fi
    start_capture "$2" "tcp port 5999" -B 262144
    bulk 5999 "$3" 0
    stop_capture
    cat "$WORK/tcpdump.log" >&2
    exit 0
fi

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -subj "/O=tlslab test/CN=$SNI" \
    -addext "subjectAltName=DNS:$SNI,DNS:www.tlslab.test,IP:127.0.0.1" 2>/dev/null
# An unrelated CA: a client that trusts only this one rejects the server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$WORK/other-key.pem" -out "$WORK/other-ca.pem" \
    -subj "/CN=tlslab unrelated CA" 2>/dev/null

# tls_capture NAME PORT "SERVER ARGS" CLIENT ARGS...
tls_capture() {
    local name=$1 port=$2 server_args=$3
    shift 3
    rm -f "$OUT/$name.pcap" "$OUT/$name.keys"
    start_capture "$OUT/$name.pcap" "tcp port $port"
    # shellcheck disable=SC2086  # server_args is a word list on purpose
    in_ns openssl s_server -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
        -www -naccept 1 -quiet $server_args >/dev/null 2>&1 &
    local srv=$!
    wait_listen "$port"
    printf 'GET / HTTP/1.0\r\n\r\n' | in_ns timeout 10 openssl s_client \
        -connect "127.0.0.1:$port" -servername "$SNI" -quiet \
        -keylogfile "$OUT/$name.keys" "$@" >/dev/null 2>&1 || true
    wait "$srv" || true
    stop_capture
}

trusting=(-CAfile "$WORK/cert.pem" -verify_return_error)
rejecting=(-CAfile "$WORK/other-ca.pem" -verify_return_error)

tls_capture tls12_rsa 4431 "-alpn http/1.1" \
    "${trusting[@]}" -tls1_2 -cipher AES128-GCM-SHA256 -alpn h2,http/1.1
tls_capture tls12_ecdhe 4432 "-alpn http/1.1" \
    "${trusting[@]}" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -groups X25519:P-256
tls_capture tls13 4433 "-alpn http/1.1" \
    "${trusting[@]}" -tls1_3 -alpn h2,http/1.1
tls_capture tls13_hrr 4434 "-groups P-256" \
    "${trusting[@]}" -tls1_3 -groups X25519:P-256
tls_capture tls12_badcert 4435 "" "${rejecting[@]}" -tls1_2
tls_capture tls13_badcert 4436 "" "${rejecting[@]}" -tls1_3

# Retransmissions: drop about one data segment in ten and one ACK in twenty
# after they are captured (input hook), as a capture at the sender would see.
rm -f "$OUT/tcp_retrans.pcap"
in_ns nft -f - <<'EOF'
table inet tlslab_drop {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport { 5001, 5002 } tcp flags & (syn | fin) == 0 numgen random mod 10 == 0 drop
        tcp sport { 5001, 5002 } tcp flags & (syn | fin) == 0 numgen random mod 20 == 0 drop
    }
}
EOF
start_capture "$OUT/tcp_retrans.pcap" "tcp portrange 5001-5002" -s 128 \
    --time-stamp-precision=nano
bulk 5001 200000 0.4   # receiver stalls: zero window, probes, window updates
bulk 5002 150000 0
stop_capture
in_ns nft delete table inet tlslab_drop

# The same TLS 1.2 capture as pcapng, to exercise that reader path.
editcap -F pcapng "$OUT/tls12_badcert.pcap" "$OUT/tls12_badcert.pcapng"

cat "$WORK/tcpdump.log"; ls -l "$OUT"
