#!/usr/bin/env bash
# A hostile access point on loopback: does one RADIUS client's flood hurt
# only itself? Builds aaad and aaabench, generates subscribers, and for each
# flood mode starts a fresh aaad with two RADIUS clients:
#
#   flood  127.0.0.2/32  (its own secret): `aaabench flood --mode MODE`, as
#                        fast as it goes (FLOOD_RATE), for DURATION;
#   lab    127.0.0.0/8   (another secret): at the same time, well-behaved
#                        authentications from 127.0.0.1, `aaabench` at
#                        LAB_RATE/s open loop with --retransmit-final (every
#                        final request is sent again and must get the same
#                        Access-Accept back, from the duplicate cache).
#
# It samples aaad's RSS every second and reports per mode: the flood's rate
# and answers, the lab client's successes, failures by reason and latency,
# the RSS peak, aaad's counters (admin /debug/vars, key "radius") as they
# moved during the mode, and the UDP datagrams the kernel dropped on full
# receive buffers (at full speed the flood sends far more than aaad reads;
# aaad steers each client's datagrams to a socket of its own, so the kernel
# drops the flood's, not the lab's: the lab's retransmissions show it).
#
# Environment (defaults in brackets):
#   MODES ["anonymous halfopen ports fat"]  DURATION [10s]
#   FLOOD_RATE [0: as fast as possible]  FLOOD_SOCKETS [aaabench's default]
#   FLOOD_SENDERS [aaabench's default]   FAT_ANSWER [0; 1: fat answers AKA-Identity]
#   LAB_RATE [50]  LAB_CONCURRENCY [256]  METHOD [aka-prime|aka]
#   SUBSCRIBERS [10000] for each client (the flood's halfopen identities are
#     not the lab's: the flood cannot burn the lab's SQNs or vector budget)
#   STORE [memory|redis] redis: a fresh redis-server for each mode (loopback,
#     no persistence, maxmemory REDIS_MAXMEMORY [256mb], noeviction); its
#     memory peak is reported with aaad's RSS.
#   RADIUS_EXTRA, EAP_EXTRA: YAML lines added under radius: and eap: (each
#     line indented by the script), e.g. EAP_EXTRA="max_conversations: 2000"
#   SERVER_PROCS [unset] GOMAXPROCS for aaad
#   GO [go]
# Exit status: 0 when the lab client had no failure in any mode, 1 when it
# had some (the flood hurt it), 2 on a setup or usage error.
set -euo pipefail

GO=${GO:-go}
MODES=${MODES:-anonymous halfopen ports fat}
DURATION=${DURATION:-10s}
FLOOD_RATE=${FLOOD_RATE:-0}
FLOOD_SOCKETS=${FLOOD_SOCKETS:-}
FLOOD_SENDERS=${FLOOD_SENDERS:-}
FAT_ANSWER=${FAT_ANSWER:-0}
LAB_RATE=${LAB_RATE:-50}
LAB_CONCURRENCY=${LAB_CONCURRENCY:-256}
METHOD=${METHOD:-aka-prime}
SUBSCRIBERS=${SUBSCRIBERS:-10000}
RADIUS_EXTRA=${RADIUS_EXTRA:-}
EAP_EXTRA=${EAP_EXTRA:-}
SERVER_PROCS=${SERVER_PROCS:-}
STORE=${STORE:-memory}
REDIS_MAXMEMORY=${REDIS_MAXMEMORY:-256mb}
FLOOD_SECRET=flood-$RANDOM$RANDOM$RANDOM
LAB_SECRET=lab-$RANDOM$RANDOM$RANDOM

die() {
	echo "flood.sh: $*" >&2
	exit 2
}

for m in $MODES; do
	case $m in anonymous | halfopen | ports | fat) ;; *) die "MODES: $m: want anonymous, halfopen, ports or fat" ;; esac
done
case $METHOD in aka-prime | aka) ;; *) die "METHOD=$METHOD: want aka-prime or aka" ;; esac
case $STORE in memory | redis) ;; *) die "STORE=$STORE: want memory or redis" ;; esac
[[ $SUBSCRIBERS =~ ^[1-9][0-9]*$ ]] || die "SUBSCRIBERS=$SUBSCRIBERS: want a positive integer"
[[ $LAB_RATE =~ ^[0-9]+(\.[0-9]+)?$ && $LAB_RATE != 0 ]] || die "LAB_RATE=$LAB_RATE: want a positive number"
command -v python3 >/dev/null || die "python3 is needed to read the JSON summaries and counters"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aaa-flood.XXXXXX")
aaad_pid=
drain_pid=
redis_pid=
redis_port=
bg_pids=()
stop_redis() {
	if [[ -n $redis_pid ]]; then
		kill -TERM "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	redis_pid=
}
stop_aaad() {
	if [[ -n $aaad_pid ]] && kill -0 "$aaad_pid" 2>/dev/null; then
		kill -TERM "$aaad_pid" 2>/dev/null || true
		wait "$aaad_pid" 2>/dev/null || true
	fi
	aaad_pid=
	if [[ -n $drain_pid ]]; then
		wait "$drain_pid" 2>/dev/null || true
	fi
	drain_pid=
}
cleanup() {
	for p in "${bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	stop_aaad
	stop_redis
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== aaad under a hostile access point"
echo "machine:  $(nproc) CPUs, $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true), $(uname -sr)"
echo "go:       $("$GO" env GOVERSION)"
flood_speed="full speed"
[[ $FLOOD_RATE != 0 ]] && flood_speed="$FLOOD_RATE/s"
echo "modes:    $MODES; $DURATION each, on a fresh aaad; store $STORE"
echo "clients:  flood from 127.0.0.2 at $flood_speed; lab from 127.0.0.1 at $LAB_RATE/s ($METHOD, --retransmit-final)"
[[ -n $RADIUS_EXTRA || -n $EAP_EXTRA ]] && echo "extra:    radius: ${RADIUS_EXTRA:-none}; eap: ${EAP_EXTRA:-none}"
echo

(cd "$root" && "$GO" build -o "$tmp/aaad" ./cmd/aaad && "$GO" build -o "$tmp/aaabench" ./cmd/aaabench) ||
	die "build failed"
# Two sets of subscribers: the lab's, and the flood's (halfopen).
"$tmp/aaabench" subscribers --count "$SUBSCRIBERS" --imsi-base 001010000000000 --out "$tmp/lab.csv"
"$tmp/aaabench" subscribers --count "$SUBSCRIBERS" --imsi-base 001019000000000 --out "$tmp/flood.csv"
{
	cat "$tmp/lab.csv"
	tail -n +2 "$tmp/flood.csv"
} >"$tmp/subscribers.csv"

indent() { [[ -z $1 ]] || printf '%s\n' "$1" | sed 's/^/  /'; }
cat >"$tmp/aaad.yaml" <<EOF
log:
  level: info
  format: json
radius:
  listen: 127.0.0.1:0
  clients:
    - {name: flood, address: 127.0.0.2/32, secret: "$FLOOD_SECRET"}
    - {name: lab, address: 127.0.0.0/8, secret: "$LAB_SECRET"}
$(indent "$RADIUS_EXTRA")
eap:
  methods: [aka-prime, aka]
$(indent "$EAP_EXTRA")
hss:
  backend: local
  subscribers: $tmp/subscribers.csv
admin:
  listen: 127.0.0.1:0
EOF
if [[ $STORE == redis ]]; then
	command -v redis-server >/dev/null || die "redis-server not found: scripts/install-test-deps.sh installs it"
	redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/kek"
	chmod 600 "$tmp/kek"
	cat >>"$tmp/aaad.yaml" <<EOF
store:
  backend: redis
  redis: {addrs: ["127.0.0.1:$redis_port"]}
EOF
	sed -i "s|^  subscribers: $tmp/subscribers.csv|&\n  key_file: $tmp/kek|" "$tmp/aaad.yaml"
else
	echo "store: {backend: memory}" >>"$tmp/aaad.yaml"
fi
redis_cli() { redis-cli -p "$redis_port" "$@"; }
# start_redis starts a fresh, empty redis-server for a mode.
start_redis() {
	stop_redis
	rm -rf "$tmp/redis" && mkdir "$tmp/redis"
	redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --save "" --appendonly no \
		--maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy noeviction --logfile "$tmp/redis/log" &
	redis_pid=$!
	for _ in $(seq 200); do
		redis_cli ping >/dev/null 2>&1 && return
		read -r -t 0.05 <> <(:) || true # no readiness line on stdout: poll
	done
	die "redis-server did not start"
}
redis_peak() { redis_cli info memory | tr -d '\r' | awk -F: '$1 == "used_memory_peak_human" {print $2}'; }
"$tmp/aaad" --check-config --config "$tmp/aaad.yaml" >"$tmp/check.out" 2>&1 || {
	cat "$tmp/aaad.yaml" >&2
	cat "$tmp/check.out" >&2
	die "aaad refused the configuration"
}

addr=
admin=
# start_aaad starts a fresh aaad and sets addr and admin from its log.
start_aaad() {
	[[ $STORE == redis ]] && start_redis
	addr= admin=
	: >"$tmp/aaad.log"
	rm -f "$tmp/aaad.stderr"
	mkfifo "$tmp/aaad.stderr"
	env ${SERVER_PROCS:+GOMAXPROCS=$SERVER_PROCS} "$tmp/aaad" --config "$tmp/aaad.yaml" 2>"$tmp/aaad.stderr" &
	aaad_pid=$!
	exec 3<"$tmp/aaad.stderr"
	while [[ -z $addr || -z $admin ]] && IFS= read -r -t 30 line <&3; do
		printf '%s\n' "$line" >>"$tmp/aaad.log"
		if [[ $line == *'"msg":"radius server listening"'* && $line =~ \"addr\":\"([^\"]+)\" ]]; then
			addr=${BASH_REMATCH[1]}
		elif [[ $line == *'"msg":"admin listening"'* && $line =~ \"addr\":\"([^\"]+)\" ]]; then
			admin=${BASH_REMATCH[1]}
		fi
	done
	# Keep draining aaad's log so that it never blocks on a full pipe.
	cat <&3 >>"$tmp/aaad.log" &
	drain_pid=$!
	exec 3<&-
	if [[ -z $addr || -z $admin ]] || ! kill -0 "$aaad_pid" 2>/dev/null; then
		echo "flood.sh: aaad did not start (radius ${addr:-?}, admin ${admin:-?}); its log:" >&2
		cat "$tmp/aaad.log" >&2 || true
		exit 2
	fi
}

counters() {
	python3 - "http://$admin/debug/vars" <<'EOF'
import json, sys, urllib.request
print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1], timeout=10))["radius"]))
EOF
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# UDP datagrams the kernel dropped, machine-wide, because a socket's
# receive buffer was full (netstat -su "receive buffer errors"): at full
# speed the flood outruns aaad and everyone's datagrams are dropped alike.
rcvbuf_errors() {
	awk '/^Udp:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else { print $col["RcvbufErrors"]; exit } }' /proc/net/snmp 2>/dev/null || echo 0
}

status=0
for mode in $MODES; do
	echo "== mode $mode"
	start_aaad
	rss_start=$(rss_kib "$aaad_pid")
	counters >"$tmp/counters0.json"
	drops0=$(rcvbuf_errors)

	flood_args=(flood --server "$addr" --secret "$FLOOD_SECRET" --bind 127.0.0.2 --mode "$mode" --duration "$DURATION" --json --quiet)
	[[ $FLOOD_RATE != 0 ]] && flood_args+=(--rate "$FLOOD_RATE")
	[[ -n $FLOOD_SOCKETS ]] && flood_args+=(--sockets "$FLOOD_SOCKETS")
	[[ -n $FLOOD_SENDERS ]] && flood_args+=(--senders "$FLOOD_SENDERS")
	[[ $mode == halfopen ]] && flood_args+=(--subscribers "$tmp/flood.csv" --method "$METHOD")
	[[ $mode == fat && $FAT_ANSWER == 1 ]] && flood_args+=(--fat-answer)
	lab_args=(--server "$addr" --secret "$LAB_SECRET" --bind 127.0.0.1 --subscribers "$tmp/lab.csv" --method "$METHOD"
		--rate "$LAB_RATE" --concurrency "$LAB_CONCURRENCY" --duration "$DURATION" --retransmit-final --json --quiet)

	"$tmp/aaabench" "${flood_args[@]}" >"$tmp/flood.json" 2>"$tmp/flood.err" &
	flood_pid=$!
	"$tmp/aaabench" "${lab_args[@]}" >"$tmp/lab.json" 2>"$tmp/lab.err" &
	lab_pid=$!
	bg_pids=("$flood_pid" "$lab_pid")

	rss_max=$rss_start
	while kill -0 "$lab_pid" 2>/dev/null || kill -0 "$flood_pid" 2>/dev/null; do
		r=$(rss_kib "$aaad_pid")
		((r > rss_max)) && rss_max=$r
		sleep 1
	done
	flood_status=0 lab_status=0
	wait "$flood_pid" || flood_status=$?
	wait "$lab_pid" || lab_status=$?
	bg_pids=()
	r=$(rss_kib "$aaad_pid")
	((r > rss_max)) && rss_max=$r
	if ! kill -0 "$aaad_pid" 2>/dev/null; then
		echo "flood.sh: aaad died during mode $mode; its log:" >&2
		tail -50 "$tmp/aaad.log" >&2 || true
		exit 1
	fi
	counters >"$tmp/counters1.json"
	drops1=$(rcvbuf_errors)
	if [[ $flood_status -ne 0 ]]; then
		cat "$tmp/flood.err" >&2
		die "aaabench flood failed (exit $flood_status)"
	fi
	if [[ $lab_status -ne 0 && $lab_status -ne 1 ]]; then
		cat "$tmp/lab.err" >&2
		die "aaabench (lab) failed to run (exit $lab_status)"
	fi
	[[ $lab_status -eq 1 ]] && status=1

	REDIS_PEAK=$([[ $STORE == redis ]] && redis_peak) RSS_START=$rss_start RSS_MAX=$rss_max KERNEL_DROPS=$((drops1 - drops0)) python3 - "$tmp/flood.json" "$tmp/lab.json" "$tmp/counters0.json" "$tmp/counters1.json" <<'EOF'
import json, os, sys

flood, lab, c0, c1 = (json.load(open(p)) for p in sys.argv[1:5])
a = flood["answers"]
print(f"flood (127.0.0.2)  {flood['sent_per_s']:.0f} requests/s sent ({flood['sent']} in {flood['duration_s']:.2f} s, "
      f"{flood['sockets']} sockets, {flood['senders']} senders), send errors {flood['send_errors']}")
line = (f"                   answered {flood['answered']} ({flood['answered_per_s']:.0f}/s): challenge {a['access_challenge']}, "
        f"accept {a['access_accept']}, reject {a['access_reject']}, other {a['other']}; unanswered {flood['unanswered']}")
if flood.get("followups_sent"):
    line += f"; AKA-Identity answers sent {flood['followups_sent']}"
print(line)
fails = lab["failures"]
top = ", ".join(f"{k} {v}" for k, v in sorted(fails.items(), key=lambda kv: -kv[1]))
total = lab["ok"] + lab["failures_total"]
lat = lab["latency_ms"]
print(f"lab (127.0.0.1)    ok {lab['ok']} of {total} ({100 * lab['ok'] / total if total else 0:.1f}%), "
      f"failures {lab['failures_total']}" + (f" ({top})" if top else ""))
print(f"                   latency p50 {lat['p50']:.3f} ms  p99 {lat['p99']:.3f} ms  max {lat['max']:.3f} ms; "
      f"retransmissions {lab['retransmissions']}; abandoned {lab['abandoned']}"
      + (f"; not started {lab['open_loop_backlog']} (all LAB_CONCURRENCY busy)" if lab.get("open_loop_backlog") else ""))
rt_bad = fails.get("retransmit_answer_differs", 0) + fails.get("retransmit_unanswered", 0)
print(f"                   retransmitted final requests {lab['retransmit_checks']}: "
      + ("all answered with the same Accept" if rt_bad == 0 else
         f"{fails.get('retransmit_answer_differs', 0)} answered differently, {fails.get('retransmit_unanswered', 0)} unanswered"))
print(f"aaad RSS           {int(os.environ['RSS_START']) / 1024:.1f} MiB at start, max {int(os.environ['RSS_MAX']) / 1024:.1f} MiB")
if os.environ.get("REDIS_PEAK"):
    print(f"redis memory peak  {os.environ['REDIS_PEAK']}")
delta = {k: v - c0.get(k, 0) for k, v in c1.items() if v - c0.get(k, 0) != 0}
keys = sorted(delta, key=lambda k: (not k in ("requests", "access_challenge", "access_accept", "access_reject"), k))
print("aaad counters      " + (", ".join(f"{k} {delta[k]}" for k in keys) if keys else "(none moved)"))
drops = int(os.environ["KERNEL_DROPS"])
print(f"kernel UDP drops   {drops}" + (" (receive buffers full: the flood outran aaad's reads; aaad steers each client to a socket of its own, so these are the flood's, and the lab's retransmissions above show whether any of its were lost)" if drops else ""))
EOF
	stop_aaad
	echo
done

if [[ $status -ne 0 ]]; then
	echo "flood.sh: the lab client had failures during a flood" >&2
fi
exit $status
