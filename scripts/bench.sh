#!/usr/bin/env bash
# Load test of aaad on loopback with aaabench: builds both, generates
# subscribers, starts aaad on a free 127.0.0.1 port, runs aaabench against it
# and reports throughput, latency, failures, and the CPU time and memory of
# both sides. `make bench` runs it.
#
# Environment (defaults in brackets):
#   FRONT [radius|diameter] radius: aaabench is access points speaking
#     RADIUS to aaad's radius section. diameter: aaad has no radius
#     section but diameter_eap (origin aaa.bench, realm bench, peer
#     twag.bench), and aaabench is a trusted WLAN access gateway speaking
#     Diameter EAP over STa on one TCP connection (aaabench --diameter).
#   DURATION [20s]  CONCURRENCY [64]  METHOD [aka-prime|aka]
#   RATE [0: closed loop; else open loop at RATE authentications/s]
#   REAUTH [0]  ANONYMOUS [0]  (shares, 0..1, passed to aaabench)
#   SUBSCRIBERS [10000]  LOG_LEVEL [info]  SOCKETS [aaabench's default; RADIUS only]
#   WORKERS [aaad's default] radius.workers
#   SERVER_PROCS [unset: aaad's own GOMAXPROCS, all CPUs] GOMAXPROCS for aaad.
#     With aaabench on the same small machine, SERVER_PROCS=1 keeps the
#     Go runtime's idle spinning in aaad from competing with aaabench for
#     the CPUs; docs/performance.md reports both.
#   STORE [memory|redis] redis: a redis-server of its own (loopback TCP, no
#     persistence unless REDIS_APPENDFSYNC is set: always, everysec), keys
#     sealed under a fresh key-encryption key; its CPU and its read events
#     (Redis round trips) per authentication are reported too.
#   REDIS_SOCKET [0] 1: aaad reaches redis-server over a Unix socket
#     instead of loopback TCP (a Redis on the same machine).
#   HSS [local|swx] swx: the vectors come over Diameter SWx from a second
#     aaad in the HSS role (hss.swx_server) on the same machine; its CPU,
#     and the MARs and SARs per authentication, are reported too.
#   SWX_VECTORS [4] hss.swx.vectors_per_request (SIP-Number-Auth-Items).
#   SWX_REGISTRATION_TTL [1h] hss.swx.registration_ttl; 0s: a SAR on
#     every authentication. With FRONT=diameter, the AAA node's Diameter
#     counters (the messages per s reported) may include the DER/DEA
#     traffic when aaad runs both on one node.
#   METRICS [0] 1: aaad serves /metrics on an admin endpoint and the script
#     scrapes it every second during the run, as Prometheus would (faster):
#     to measure what metrics cost against a run without.
#   GO [go]
# Exit status: 0 when aaabench counted no failure, 1 when it did, 2 on a
# setup or usage error.
set -euo pipefail

GO=${GO:-go}
FRONT=${FRONT:-radius}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-64}
METHOD=${METHOD:-aka-prime}
RATE=${RATE:-0}
REAUTH=${REAUTH:-0}
ANONYMOUS=${ANONYMOUS:-0}
SUBSCRIBERS=${SUBSCRIBERS:-10000}
LOG_LEVEL=${LOG_LEVEL:-info}
SERVER_PROCS=${SERVER_PROCS:-}
SOCKETS=${SOCKETS:-}
STORE=${STORE:-memory}
REDIS_APPENDFSYNC=${REDIS_APPENDFSYNC:-}
REDIS_SOCKET=${REDIS_SOCKET:-0}
HSS=${HSS:-local}
METRICS=${METRICS:-0}
SWX_VECTORS=${SWX_VECTORS:-4}
SWX_REGISTRATION_TTL=${SWX_REGISTRATION_TTL:-1h}
SECRET=bench-$RANDOM$RANDOM

die() {
	echo "bench.sh: $*" >&2
	exit 2
}

case $FRONT in radius | diameter) ;; *) die "FRONT=$FRONT: want radius or diameter" ;; esac
[[ $FRONT == diameter && -n $SOCKETS ]] && die "SOCKETS is for FRONT=radius: over Diameter aaabench uses one TCP connection"
[[ $FRONT == diameter && -n ${WORKERS:-} ]] && die "WORKERS (radius.workers) is for FRONT=radius"
case $METHOD in aka-prime | aka) ;; *) die "METHOD=$METHOD: want aka-prime or aka" ;; esac
case $STORE in memory | redis) ;; *) die "STORE=$STORE: want memory or redis" ;; esac
case $HSS in local | swx) ;; *) die "HSS=$HSS: want local or swx" ;; esac
[[ $HSS == swx && $STORE == redis ]] && die "HSS=swx runs with STORE=memory"
case $LOG_LEVEL in debug | info | warn | error) ;; *) die "LOG_LEVEL=$LOG_LEVEL: want debug, info, warn or error" ;; esac
[[ $SUBSCRIBERS =~ ^[1-9][0-9]*$ ]] || die "SUBSCRIBERS=$SUBSCRIBERS: want a positive integer"
command -v python3 >/dev/null || die "python3 is needed to read aaabench's JSON summary"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aaa-bench.XXXXXX")
aaad_pid=
drain_pid=
redis_pid=
hss_pid=
hss_drain_pid=
cleanup() {
	if [[ -n $hss_pid ]] && kill -0 "$hss_pid" 2>/dev/null; then
		kill -TERM "$hss_pid" 2>/dev/null || true
		wait "$hss_pid" 2>/dev/null || true
	fi
	if [[ -n $hss_drain_pid ]]; then
		wait "$hss_drain_pid" 2>/dev/null || true
	fi
	if [[ -n $redis_pid ]]; then
		kill -TERM "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	if [[ -n $aaad_pid ]] && kill -0 "$aaad_pid" 2>/dev/null; then
		kill -TERM "$aaad_pid" 2>/dev/null || true
		wait "$aaad_pid" 2>/dev/null || true
	fi
	if [[ -n $drain_pid ]]; then
		wait "$drain_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
go_version=$("$GO" env GOVERSION)
echo "== aaad load test"
echo "machine:  $(nproc) CPUs, ${cpu_model:-unknown model}, $(uname -sr)"
echo "go:       $go_version"
load="front $FRONT, method $METHOD, concurrency $CONCURRENCY, duration $DURATION"
if [[ $RATE != 0 ]]; then load+=", open loop at $RATE/s"; else load+=", closed loop"; fi
load+=", reauth $REAUTH, anonymous $ANONYMOUS, $SUBSCRIBERS subscribers, aaad log level $LOG_LEVEL"
load+=", aaad GOMAXPROCS ${SERVER_PROCS:-all CPUs}, store $STORE${REDIS_APPENDFSYNC:+ (AOF appendfsync $REDIS_APPENDFSYNC)}"
[[ $STORE == redis && $REDIS_SOCKET == 1 ]] && load+=" over a Unix socket"
[[ $HSS == swx ]] && load+=", vectors over SWx from an HSS node ($SWX_VECTORS per MAR, registration_ttl $SWX_REGISTRATION_TTL)"
echo "load:     $load"
echo

(cd "$root" && "$GO" build -o "$tmp/aaad" ./cmd/aaad && "$GO" build -o "$tmp/aaabench" ./cmd/aaabench)
"$tmp/aaabench" subscribers --count "$SUBSCRIBERS" --out "$tmp/subscribers.csv"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# aaad announces its address at info level. Below that (warn, error) we pick
# a free port ourselves and wait for the first answer instead.
if [[ $LOG_LEVEL == debug || $LOG_LEVEL == info ]]; then
	listen=127.0.0.1:0
elif [[ $FRONT == diameter ]]; then
	listen=127.0.0.1:$(free_port)
else
	port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	listen=127.0.0.1:$port
fi
# aaabench's side of the front end, and aaad's readiness line.
if [[ $FRONT == diameter ]]; then
	front_args=(--diameter ADDR --origin-host twag.bench --origin-realm bench --destination-realm bench --peer-host aaa.bench)
	ready_msg='"msg":"diameter eap listening"'
else
	front_args=(--server ADDR --secret "$SECRET")
	ready_msg='"msg":"radius server listening"'
fi
# front_for ADDR: front_args with ADDR in place.
front_for() {
	local a
	for a in "${front_args[@]}"; do
		[[ $a == ADDR ]] && a=$1
		printf '%s\n' "$a"
	done
}
# A closed loop over SUBSCRIBERS USIMs authenticates each of them far more
# often than a phone does (25,000/s over 10,000 is 2.5 a second): lift the
# per-subscriber vector rate, which guards real USIMs.
local_hss="  backend: local
  subscribers: $tmp/subscribers.csv
  vector_rate: 1000
  vector_burst: 1000"
if [[ $HSS == swx ]]; then
	hss_port=$(free_port)
	hss_admin=$(free_port)
	aaa_admin=$(free_port)
	cat >"$tmp/hss.yaml" <<EOF
log: {level: $LOG_LEVEL, format: json}
diameter: {origin_host: hss.bench, origin_realm: bench}
hss:
$local_hss
  swx_server:
    listen: 127.0.0.1:$hss_port
    peers: [aaa.bench]
    max_vectors: 32
store: {backend: memory}
admin: {listen: 127.0.0.1:$hss_admin}
EOF
	mkfifo "$tmp/hss.stderr"
	"$tmp/aaad" --config "$tmp/hss.yaml" 2>"$tmp/hss.stderr" &
	hss_pid=$!
	exec 4<"$tmp/hss.stderr"
	hss_ready=
	while IFS= read -r -t 30 line <&4; do
		printf '%s\n' "$line" >>"$tmp/hss.log"
		if [[ $line == *'"msg":"swx server listening"'* ]]; then
			hss_ready=1
			break
		fi
	done
	cat <&4 >>"$tmp/hss.log" &
	hss_drain_pid=$!
	exec 4<&-
	[[ -n $hss_ready ]] || { cat "$tmp/hss.log" >&2; die "the HSS node did not start"; }
	echo "hss node: pid $hss_pid serving SWx on 127.0.0.1:$hss_port"
	aaa_hss="  backend: swx
  swx:
    destination_realm: bench
    peers: [{host: hss.bench, address: \"127.0.0.1:$hss_port\"}]
    vectors_per_request: $SWX_VECTORS
    registration_ttl: $SWX_REGISTRATION_TTL"
	aaa_extra="admin: {listen: 127.0.0.1:$aaa_admin}"
else
	aaa_hss=$local_hss
	aaa_extra=
fi
if [[ $METRICS == 1 ]]; then
	[[ $HSS == swx ]] || { aaa_admin=$(free_port); aaa_extra="admin: {listen: 127.0.0.1:$aaa_admin}"; }
fi
# The AAA node's Diameter identity: SWx towards the HSS node, Diameter
# EAP towards aaabench's gateway (twag.bench).
if [[ $HSS == swx || $FRONT == diameter ]]; then
	aaa_extra="diameter: {origin_host: aaa.bench, origin_realm: bench}
$aaa_extra"
fi
if [[ $FRONT == diameter ]]; then
	front_yaml="diameter_eap: {listen: $listen, peers: [twag.bench]}"
else
	front_yaml="radius:
  listen: $listen
${WORKERS:+  workers: $WORKERS
}  clients:
    - {name: bench, address: 127.0.0.1/32, secret: \"$SECRET\"}"
fi
cat >"$tmp/aaad.yaml" <<EOF
log:
  level: $LOG_LEVEL
  format: json
$front_yaml
eap:
  methods: [$METHOD]
hss:
$aaa_hss
$aaa_extra
EOF
redis_cli() { redis-cli -p "$redis_port" "$@"; }
if [[ $STORE == redis ]]; then
	command -v redis-server >/dev/null || die "redis-server not found: scripts/install-test-deps.sh installs it"
	redis_port=$(free_port)
	aof=(--appendonly no)
	[[ -n $REDIS_APPENDFSYNC ]] && aof=(--appendonly yes --appendfsync "$REDIS_APPENDFSYNC")
	redis-server --port "$redis_port" --bind 127.0.0.1 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 \
		--dir "$tmp" --save "" "${aof[@]}" \
		--logfile "$tmp/redis.log" &
	redis_pid=$!
	for _ in $(seq 200); do
		redis_cli ping >/dev/null 2>&1 && break
		read -r -t 0.05 <> <(:) || true # redis-server has no readiness line on stdout here
	done
	redis_cli ping >/dev/null || die "redis-server did not start"
	printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/kek"
	chmod 600 "$tmp/kek"
	cat >>"$tmp/aaad.yaml" <<EOF
  key_file: $tmp/kek
store:
  backend: redis
  redis:
    addrs: ["$([[ $REDIS_SOCKET == 1 ]] && echo "$tmp/redis.sock" || echo "127.0.0.1:$redis_port")"]
EOF
else
	echo "store: {backend: memory}" >>"$tmp/aaad.yaml"
fi

addr=
if [[ $listen == 127.0.0.1:0 ]]; then
	mkfifo "$tmp/aaad.stderr"
	env ${SERVER_PROCS:+GOMAXPROCS=$SERVER_PROCS} "$tmp/aaad" --config "$tmp/aaad.yaml" 2>"$tmp/aaad.stderr" &
	aaad_pid=$!
	exec 3<"$tmp/aaad.stderr"
	# Over SWx, ready once the HSS peer is open too (either line first).
	hss_open=
	[[ $HSS == swx ]] || hss_open=1
	while IFS= read -r -t 30 line <&3; do
		printf '%s\n' "$line" >>"$tmp/aaad.log"
		if [[ $line == *"$ready_msg"* && $line =~ \"addr\":\"([^\"]+)\" ]]; then
			addr=${BASH_REMATCH[1]}
		fi
		if [[ $line == *'"msg":"diameter peer open"'* ]]; then
			hss_open=1
		fi
		[[ -n $addr && -n $hss_open ]] && break
	done
	[[ -n $hss_open ]] || addr=
	# Keep draining aaad's log so that it never blocks on a full pipe.
	cat <&3 >>"$tmp/aaad.log" &
	drain_pid=$!
	exec 3<&-
else
	env ${SERVER_PROCS:+GOMAXPROCS=$SERVER_PROCS} "$tmp/aaad" --config "$tmp/aaad.yaml" 2>>"$tmp/aaad.log" &
	aaad_pid=$!
	# The first authentication is the readiness probe: aaabench
	# retransmits until aaad answers (over Diameter, it first waits for
	# the connection to open).
	mapfile -t probe_front < <(front_for "$listen")
	[[ $FRONT == diameter ]] && probe_front+=(--connect-timeout 30s)
	if "$tmp/aaabench" "${probe_front[@]}" --subscribers "$tmp/subscribers.csv" --method "$METHOD" \
		--count 1 --concurrency 1 --timeout 100ms --retries 150 --quiet --json >/dev/null; then
		addr=$listen
	fi
fi
if [[ -z $addr ]] || ! kill -0 "$aaad_pid" 2>/dev/null; then
	echo "bench.sh: aaad did not start; its log:" >&2
	cat "$tmp/aaad.log" >&2 || true
	exit 2
fi
echo "aaad:     pid $aaad_pid listening on $addr"

clk_tck=$(getconf CLK_TCK)
# utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and
# 15; the command name in field 2 may hold spaces, so cut after its ')').
cpu_ticks() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) }
	read -r -a f <<<"$stat"
	echo $((f[11] + f[12]))
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

ticks0=$(cpu_ticks "$aaad_pid")
rss0=$(rss_kib "$aaad_pid")
# The SWx counters of both nodes, from their admin endpoints (expvar).
swx_vars() {
	python3 -c 'import json, sys, urllib.request
h = json.load(urllib.request.urlopen("http://127.0.0.1:%s/debug/vars" % sys.argv[1]))
a = json.load(urllib.request.urlopen("http://127.0.0.1:%s/debug/vars" % sys.argv[2]))
s, c = h["swx_server"], a["swx"]
print(s["MARReceived"], s["SARReceived"], s["VectorsSent"], c["SparesUsed"], a["diameter"]["sent"], a["diameter"]["received"])' "$hss_admin" "$aaa_admin"
}
if [[ -n $hss_pid ]]; then
	hticks0=$(cpu_ticks "$hss_pid")
	read -r mar0 sar0 vec0 spare0 dsent0 drecv0 < <(swx_vars)
fi
redis_stat() { redis_cli info stats | tr -d '\r' | awk -F: -v k="$1" '$1 == k {print $2+0}'; }
if [[ -n $redis_pid ]]; then
	rticks0=$(cpu_ticks "$redis_pid")
	reads0=$(redis_stat total_reads_processed)
	cmds0=$(redis_stat total_commands_processed)
fi

mapfile -t bench_front < <(front_for "$addr")
bench_args=("${bench_front[@]}" --subscribers "$tmp/subscribers.csv" --method "$METHOD"
	--concurrency "$CONCURRENCY" --duration "$DURATION" --json)
[[ $RATE != 0 ]] && bench_args+=(--rate "$RATE")
[[ $REAUTH != 0 ]] && bench_args+=(--reauth "$REAUTH")
[[ $ANONYMOUS != 0 ]] && bench_args+=(--anonymous "$ANONYMOUS")
[[ -n $SOCKETS ]] && bench_args+=(--sockets "$SOCKETS")

scrape_pid=
if [[ $METRICS == 1 ]]; then
	# A scraper a second, reading the whole /metrics page each time.
	python3 -c 'import sys, time, urllib.request
while True:
    urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read()
    time.sleep(1)' "$aaa_admin" &
	scrape_pid=$!
fi
status=0
"$tmp/aaabench" "${bench_args[@]}" >"$tmp/result.json" || status=$?
[[ -n $scrape_pid ]] && kill "$scrape_pid" 2>/dev/null || true
if [[ $status -ne 0 && $status -ne 1 ]]; then
	die "aaabench failed to run (exit $status)"
fi
if ! kill -0 "$aaad_pid" 2>/dev/null; then
	echo "bench.sh: aaad died during the run; its log:" >&2
	tail -50 "$tmp/aaad.log" >&2 || true
	exit 1
fi
ticks1=$(cpu_ticks "$aaad_pid")
rss1=$(rss_kib "$aaad_pid")
HTICKS=0 MARS=0 SARS=0 VECS=0 SPARES=0 DSENT=0 DRECV=0
if [[ -n $hss_pid ]]; then
	HTICKS=$(($(cpu_ticks "$hss_pid") - hticks0))
	read -r mar1 sar1 vec1 spare1 dsent1 drecv1 < <(swx_vars)
	MARS=$((mar1 - mar0)) SARS=$((sar1 - sar0)) VECS=$((vec1 - vec0)) SPARES=$((spare1 - spare0))
	DSENT=$((dsent1 - dsent0)) DRECV=$((drecv1 - drecv0))
fi
RTICKS=0 READS=0 CMDS=0
if [[ -n $redis_pid ]]; then
	RTICKS=$(($(cpu_ticks "$redis_pid") - rticks0))
	READS=$(($(redis_stat total_reads_processed) - reads0))
	CMDS=$(($(redis_stat total_commands_processed) - cmds0))
	redis_cli info commandstats | tr -d '\r' >"$tmp/commandstats"
fi

echo
HSS=$HSS HTICKS=$HTICKS MARS=$MARS SARS=$SARS VECS=$VECS SPARES=$SPARES DSENT=$DSENT DRECV=$DRECV \
	COMMANDSTATS=${redis_pid:+$tmp/commandstats} STORE=$STORE RTICKS=$RTICKS READS=$READS CMDS=$CMDS TICKS=$((ticks1 - ticks0)) CLK_TCK=$clk_tck RSS0=$rss0 RSS1=$rss1 NPROC=$(nproc) CPU_MODEL=$cpu_model \
	GO_VERSION=$go_version FRONT=$FRONT METHOD=$METHOD CONCURRENCY=$CONCURRENCY DURATION=$DURATION RATE=$RATE \
	REAUTH=$REAUTH ANONYMOUS=$ANONYMOUS SUBSCRIBERS=$SUBSCRIBERS LOG_LEVEL=$LOG_LEVEL SERVER_PROCS=$SERVER_PROCS \
	python3 - "$tmp/result.json" <<'EOF'
import json, os, sys

r = json.load(open(sys.argv[1]))
env = os.environ
ok = r["ok"]
server_cpu_s = int(env["TICKS"]) / int(env["CLK_TCK"])
server_us = server_cpu_s * 1e6 / ok if ok else 0.0
rss0, rss1 = int(env["RSS0"]) / 1024, int(env["RSS1"]) / 1024
lat = r["latency_ms"]
fails = r["failures"]
top = ", ".join(f"{k} {v}" for k, v in sorted(fails.items(), key=lambda kv: -kv[1]))

print("== result")
print(f"auths/s            {r['auths_per_s']:.0f}   ({ok} ok in {r['duration_s']:.2f} s, {r['rounds_per_auth']:.2f} round trips each)")
print(f"latency            p50 {lat['p50']:.3f} ms   p90 {lat['p90']:.3f} ms   p99 {lat['p99']:.3f} ms   p99.9 {lat['p999']:.3f} ms   max {lat['max']:.3f} ms")
print(f"failures           {r['failures_total']}" + (f"   ({top})" if top else ""))
print(f"fast re-auths      {r['fast_reauths']} ({100 * r['fast_reauth_share']:.1f}%)   retransmissions {r['retransmissions']}")
if r.get("start_lag_ms"):
    sl = r["start_lag_ms"]
    print(f"start lag          p50 {sl['p50']:.3f} ms   p90 {sl['p90']:.3f} ms   p99 {sl['p99']:.3f} ms   (open loop: aaabench's own lateness, included in the latency)")
if r.get("service_ms"):
    sv = r["service_ms"]
    print(f"from first send    p50 {sv['p50']:.3f} ms   p90 {sv['p90']:.3f} ms   p99 {sv['p99']:.3f} ms   p99.9 {sv['p999']:.3f} ms   (open loop: the latency without the start lag)")
if r.get("open_loop_backlog"):
    print(f"not started        {r['open_loop_backlog']} (open loop fell behind: raise CONCURRENCY or lower RATE)")
print(f"server CPU         {server_us:.1f} µs/auth   ({server_cpu_s:.2f} s)")
print(f"aaabench CPU       {r['client_cpu_us_per_auth']:.1f} µs/auth   ({r['client_cpu_s']:.2f} s)")
print(f"server RSS         {rss0:.1f} MiB at start, {rss1:.1f} MiB at end")
redis = None
if env["STORE"] == "redis" and ok:
    # total_reads_processed counts the read events redis-server handled: one
    # per request it got, a pipeline being one (a round trip).
    redis = {
        "cpu_us_per_auth": round(int(env["RTICKS"]) / int(env["CLK_TCK"]) * 1e6 / ok, 1),
        "round_trips_per_auth": round(int(env["READS"]) / ok, 2),
        "commands_per_auth": round(int(env["CMDS"]) / ok, 2),
    }
    print(f"redis-server CPU   {redis['cpu_us_per_auth']:.1f} µs/auth")
    print(f"redis round trips  {redis['round_trips_per_auth']:.2f} per auth ({redis['commands_per_auth']:.2f} commands)")
    calls = {}
    for line in open(env["COMMANDSTATS"]):
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            calls[name] = int(dict(kv.split("=") for kv in rest.strip().split(","))["calls"])
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    print("redis commands     " + ", ".join(f"{k} {v / ok:.2f}" for k, v in top) + " per auth (whole run, probe included)")

swx = None
if env["HSS"] == "swx" and ok:
    dur = r["duration_s"]
    swx = {
        "hss_cpu_us_per_auth": round(int(env["HTICKS"]) / int(env["CLK_TCK"]) * 1e6 / ok, 1),
        "mars_per_auth": round(int(env["MARS"]) / ok, 3),
        "sars_per_auth": round(int(env["SARS"]) / ok, 3),
        "vectors_per_mar": round(int(env["VECS"]) / max(int(env["MARS"]), 1), 2),
        "spares_used_per_auth": round(int(env["SPARES"]) / ok, 3),
        "mar_round_trips_per_s": round(int(env["MARS"]) / dur, 1),
        "diameter_requests_per_s": round(int(env["DSENT"]) / dur, 1),
    }
    print(f"HSS node CPU       {swx['hss_cpu_us_per_auth']:.1f} µs/auth   (both nodes {server_us + swx['hss_cpu_us_per_auth']:.1f} µs/auth)")
    print(f"SWx                {swx['mars_per_auth']:.3f} MAR and {swx['sars_per_auth']:.3f} SAR per auth, {swx['vectors_per_mar']:.2f} vectors per MAR, {swx['spares_used_per_auth']:.3f} spares used per auth")
    print(f"SWx round trips    {swx['mar_round_trips_per_s']:.0f} MAR/MAA per s; the AAA node sent {swx['diameter_requests_per_s']:.0f} Diameter messages per s")

doc = {
    "machine": {"cpus": int(env["NPROC"]), "model": env["CPU_MODEL"], "go": env["GO_VERSION"]},
    "load": {
        "front": env["FRONT"], "method": env["METHOD"], "concurrency": int(env["CONCURRENCY"]), "duration": env["DURATION"],
        "rate": float(env["RATE"]), "reauth": float(env["REAUTH"]), "anonymous": float(env["ANONYMOUS"]),
        "subscribers": int(env["SUBSCRIBERS"]), "log_level": env["LOG_LEVEL"],
        "server_procs": env.get("SERVER_PROCS") or "all",
    },
    "ok": ok,
    "failures": fails,
    "auths_per_s": round(r["auths_per_s"], 1),
    "latency_ms": lat,
    "rounds_per_auth": round(r["rounds_per_auth"], 3),
    "fast_reauths": r["fast_reauths"],
    "retransmissions": r["retransmissions"],
    "start_lag_ms": r.get("start_lag_ms"),
    "service_ms": r.get("service_ms"),
    "server_cpu_us_per_auth": round(server_us, 1),
    "client_cpu_us_per_auth": round(r["client_cpu_us_per_auth"], 1),
    "server_rss_mib": {"start": round(rss0, 1), "end": round(rss1, 1)},
    "store": env["STORE"],
    "redis": redis,
    "swx": swx,
}
print()
print(json.dumps(doc, separators=(",", ":")))
EOF

if [[ $status -ne 0 ]]; then
	echo "bench.sh: aaabench counted failures" >&2
	exit 1
fi
