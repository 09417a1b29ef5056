#!/bin/sh
# front_bytes.sh — frames reach the other guest intact byte for byte, as
# xnetfront reads them straight into the ring's pages and writes them from
# there: two sim guests (MTU 9000, so frames of one, two and three pages)
# on a bridge; UDP datagrams of sizes around the page boundaries (a 4096-
# and an 8192-byte frame exactly, one byte more) and fragmented ones are
# echoed back and compared; 32 MB of TCP (GSO super-frames up to 64 KiB)
# go to an echo server and back, compared by SHA-256.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
export XNET_SIM_DIR="$(mktemp -d /tmp/xnet-fb.XXXXXX)"
G1=xfb1-$$ G2=xfb2-$$ BR=xfbbr$$
PY="$XNET_SIM_DIR/echo.py"
srv=""

cleanup() {
	set +e
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

cat >"$PY" <<'PYEOF'
import hashlib, socket, sys, threading

PORT = 7001
# Payload sizes: tiny, a full 1500-byte frame, frames of exactly one and two
# pages (42 bytes of headers) and one byte more, the largest unfragmented
# frame at MTU 9000, and fragmented datagrams up to the largest.
SIZES = [1, 18, 100, 1472, 4054, 4055, 8150, 8151, 8972, 20000, 65507]

def pattern(n, seed):
    out, h = bytearray(), hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])

def serve(addr):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, PORT))
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, PORT))
    t.listen(1)
    def udp():
        while True:
            d, peer = u.recvfrom(65535)
            u.sendto(d, peer)
    threading.Thread(target=udp, daemon=True).start()
    c, _ = t.accept()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        c.sendall(d)
    c.close()

def udp_check(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    for n in SIZES:
        want = pattern(n, "udp%d" % n)
        for attempt in range(5):
            s.sendto(want, (addr, PORT))
            try:
                got = s.recv(65535)
            except socket.timeout:
                continue
            if got != want:
                sys.exit("udp %d bytes: echo differs (%d bytes back)" % (n, len(got)))
            break
        else:
            sys.exit("udp %d bytes: no echo after 5 tries" % n)
    print("udp: %d sizes echoed intact" % len(SIZES))

def tcp_check(addr, total):
    s = socket.create_connection((addr, PORT), timeout=30)
    sent, back = hashlib.sha256(), hashlib.sha256()
    def send():
        left, k = total, 0
        while left:
            chunk = pattern(min(left, 1 << 16), "tcp%d" % k)
            sent.update(chunk)
            s.sendall(chunk)
            left -= len(chunk)
            k += 1
        s.shutdown(socket.SHUT_WR)
    th = threading.Thread(target=send)
    th.start()
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        back.update(d)
        n += len(d)
    th.join()
    if n != total or sent.digest() != back.digest():
        sys.exit("tcp: %d of %d bytes back, digests %s" %
                 (n, total, "equal" if sent.digest() == back.digest() else "differ"))
    print("tcp: %d bytes there and back intact" % n)

if sys.argv[1] == "serve":
    serve(sys.argv[2])
else:
    udp_check(sys.argv[2])
    tcp_check(sys.argv[2], int(sys.argv[3]))
PYEOF

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
make_guest "$G1" "mac=00:16:3e:00:fb:01,bridge=$BR,mtu=9000" 198.18.0.1/24
make_guest "$G2" "mac=00:16:3e:00:fb:02,bridge=$BR,mtu=9000" 198.18.0.2/24
for g in "$G1" "$G2"; do
	[ "$(in_ns "$g" cat /sys/class/net/eth0/mtu)" = 9000 ] || fail "$g: eth0 mtu is not 9000"
done
wait_for 20 reaches "$G1" 198.18.0.2 || fail "no first ping $G1 -> $G2"

in_ns "$G2" timeout 120 python3 "$PY" serve 198.18.0.2 &
srv=$!
wait_for 10 sh -c "ip netns exec '$G2' ss -Hltn 'sport = :7001' | grep -q :7001" ||
	fail "echo server did not start"
stat() { in_ns "$G1" cat "/sys/class/net/eth0/statistics/$1"; }
tx0=$(stat tx_packets) txb0=$(stat tx_bytes)
in_ns "$G1" timeout 90 python3 "$PY" check 198.18.0.2 33554432 || fail "bytes changed on the way"
# TCP went as super-frames: more bytes per frame than the MTU allows.
tx=$(($(stat tx_packets) - tx0)) txb=$(($(stat tx_bytes) - txb0))
[ "$tx" -gt 0 ] && [ $((txb / tx)) -gt 9014 ] ||
	fail "no GSO frames: $tx frames, $txb bytes sent"
ok "UDP around page boundaries and 32 MB of TCP in GSO frames ($((txb / tx)) bytes a frame) intact both ways"
echo "PASS front_bytes"
