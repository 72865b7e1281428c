#!/usr/bin/env bash
# make-captures.sh — re-make the Standard RDP Security captures behind test/crypto/captures/*.json:
# xrdp 0.9.21 (security_layer=rdp) on 127.0.0.1:34891 against xfreerdp /sec:rdp (salted MACs),
# rdesktop (unsalted MACs), and rdesktop driven by >4096 synthetic mouse moves (so the
# client-to-server RC4 key is updated, MS-RDPBCGR 5.3.7.1). Needs root, the peers of
# ../../../../shared/peers (install-peers) and python3 (XTEST via ctypes, no extra package).
#
# Usage:  bash test/crypto/captures/make-captures.sh [OUTDIR]     (default: a new /tmp dir)
# Then:   node test/crypto/captures/extract-captures.mjs OUTDIR   (writes the JSON next to this file)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
P="$(cd "$HERE/../../../../shared/peers" && pwd)"
OUT="${1:-$(mktemp -d /tmp/rdpsec-crypto-captures.XXXXXX)}"; mkdir -p "$OUT"
XDIR=$(mktemp -d /tmp/rdpsec-crypto-xvfb.XXXXXX)
setsid Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$XDIR/display" </dev/null >"$XDIR/xvfb.log" 2>&1 &
echo $! >"$XDIR/xvfb.pid"
for _ in $(seq 100); do [[ -s "$XDIR/display" ]] && break; sleep 0.1; done
export DISPLAY=":$(tr -dc 0-9 <"$XDIR/display")"
trap '"$P/stop" "$XDIR" >/dev/null' EXIT
XP=34891
RHOME=$(mktemp -d /tmp/rdpsec-crypto-rhome.XXXXXX)
XF=(timeout 20 xfreerdp /cert:ignore +auth-only)

start() { SRV=$("$P/xrdp-serve" $XP rdp "$1") || { echo "start failed: $SRV" >&2; return 1; }; SDIR=$(sed -n 's/^dir=//p' <<<"$SRV"); }
stop() { "$P/stop" "$SDIR" >/dev/null; cp "$SDIR/xrdp.log" "$OUT/$1.xrdp.log" 2>/dev/null; }
cap() { local name="$1"; shift; CAPTURE_LINGER=1 "$P/capture" $XP "$OUT/$name.pcapng" "$@"; }

# XTEST pointer motion: N moves after a delay (rdesktop sends one encrypted input PDU per move)
MOUSE='import ctypes, sys, time
x11 = ctypes.CDLL("libX11.so.6"); xtst = ctypes.CDLL("libXtst.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
d = ctypes.c_void_p(x11.XOpenDisplay(None))
n = int(sys.argv[1]); time.sleep(float(sys.argv[2]))
for i in range(n):
    xtst.XTestFakeMotionEvent(d, -1, 100 + i % 400, 100 + (i // 400) % 300, 0); x11.XFlush(d)
    if i % 50 == 0: time.sleep(0.01)
print("moved", n)'

for c in low high fips; do
  start $c && { cap "xrdp-rdp-$c--xfreerdp-sec-rdp" "${XF[@]}" /v:127.0.0.1:$XP /sec:rdp /u:test /p:test; stop "xrdp-rdp-$c--xfreerdp-sec-rdp"; }
done
for c in low high; do
  start $c && { cap "xrdp-rdp-$c--rdesktop" bash -c "echo yes | HOME=$RHOME timeout 6 rdesktop -u test -p test 127.0.0.1:$XP"; stop "xrdp-rdp-$c--rdesktop"; }
  start $c && {
    python3 -c "$MOUSE" 6000 4 >"$OUT/mouse-$c.log" 2>&1 &
    mp=$!
    cap "xrdp-rdp-$c--rdesktop-mouse" bash -c "echo yes | HOME=$RHOME timeout 25 rdesktop -g 800x600 -u test -p test 127.0.0.1:$XP"
    wait $mp; stop "xrdp-rdp-$c--rdesktop-mouse"
  }
done
echo "captures in $OUT"
