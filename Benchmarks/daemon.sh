#!/usr/bin/env bash
# The daemon benchmark of issue 3, all against one mosquitto on this machine, in one run:
#  1. QoS 0, as fast as the publisher goes: a count-only libmosquitto subscriber (the baseline),
#     then the whole daemon (journal, parse, geofence, dwell, rules, store); the ratio of the two.
#  2. QoS 1 at 20,000 msg/s for DURATION seconds (default 600): nothing lost (every message
#     processed, none rejected), and the latency from the position that opens a visit to its alert
#     arriving at a subscriber.
# The load is a simulated fleet on the Kotka roads (1,000 vehicles × 30 days, 3.6 M positions,
# replayed with shifted times for the long run). Usage: Benchmarks/daemon.sh [WORKDIR]
# DAEMON_BIN=path/to/inspection-watch measures another build of the daemon (a baseline) with the
# same load; QOS1=0 leaves out the QoS 1 run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/inspection-daemon-bench}
duration=${DURATION:-600}
rate=${RATE:-20000}
. Benchmarks/fleet-broker.sh

start_daemon() {
  rm -rf "$work/store.sqlite"* 
  cat > "$work/daemon.yaml" <<CONF
registry: { dir: $work/fleet/registry }
mqtt: { port: $port, client_id: bench-daemon }
store: { path: $work/store.sqlite }
CONF
  ${DAEMON_BIN:-$bin/inspection-watch} serve --config "$work/daemon.yaml" 2> "$work/daemon.log" & daemon=$!
  pids+=($daemon)
  for _ in $(seq 600); do grep -q "mqtt connected" "$work/daemon.log" && break; sleep 0.1; done
}

# Each thread of the daemon: tid, name, CPU seconds so far (tab-separated, sorted by tid).
thread_cpu() {
  for t in /proc/$daemon/task/*; do
    awk -v tid="${t##*/}" -v tck="$(getconf CLK_TCK)" '{ sub(/^[0-9]+ \(/, ""); split($0, a, ") "); split(a[2], f, " ");
      printf "%s\t%s\t%.2f\n", tid, a[1], (f[12] + f[13]) / tck }' "$t/stat"
  done | sort
}

n=${QOS0_MESSAGES:-1000000}
pairs=${QOS0_PAIRS:-3}
echo "== QoS 0, $n messages as fast as they go: count-only, then the daemon, $pairs times (the median ratio counts)"
for k in $(seq "$pairs"); do
  $bin/inspection-bench load --port "$port" --qos 0 --mode count --limit "$n" "${traces[@]}" > "$work/count-$k.txt"
  start_daemon
  thread_cpu > "$work/cpu-before.txt"
  $bin/inspection-bench load --port "$port" --qos 0 --mode daemon --store "$work/store.sqlite" --limit "$n" "${traces[@]}" > "$work/daemon-qos0-$k.txt"
  thread_cpu > "$work/cpu-after.txt"
  kill "$daemon"; wait "$daemon" 2>/dev/null || true
  grep received "$work/count-$k.txt" "$work/daemon-qos0-$k.txt" | sed "s|^$work/|  |"
  # CPU time by thread over the load (less noisy than a rate on a shared machine).
  echo "  daemon CPU seconds by thread (start-up not counted):" $(join -t$'\t' "$work/cpu-before.txt" "$work/cpu-after.txt" \
    | awk -F'\t' '{ printf "%.2f\t%s\n", $5 - $3, $2 }' | sort -rn | head -3 | awk -F'\t' '{ printf "%s %.2f s; ", $2, $1 }')
done
python3 - "$work" "$pairs" <<'PY'
import re, sys
work, pairs = sys.argv[1], int(sys.argv[2])
def rate(f): return float(re.search(r"received \d+ of \d+ in [\d.]+ s: (\d+) msg/s", open(f).read()).group(1))
r = [(rate("%s/daemon-qos0-%d.txt" % (work, k)), rate("%s/count-%d.txt" % (work, k))) for k in range(1, pairs + 1)]
ratios = sorted(d / c for d, c in r)
print("ratio daemon / count-only at QoS 0: " + ", ".join("%.2f (%.0f / %.0f)" % (d / c, d, c) for d, c in r)
      + "; median %.2f" % ratios[len(ratios) // 2])
PY

[ "${QOS1:-1}" = 0 ] && exit 0
total=$(( rate * duration ))
per_pass=$(cat "${traces[@]}" | grep -vc '^vehicle_id')
repeats=$(( (total + per_pass - 1) / per_pass ))
limit=$(( total < per_pass ? total : per_pass ))
echo "== QoS 1 at $rate msg/s for $duration s ($total messages)"
start_daemon
rss() { ps -o rss= -p "$daemon" | awk '{printf "%.0f MB", $1/1024}'; }
$bin/inspection-bench load --port "$port" --qos 1 --rate "$rate" --mode daemon --store "$work/store.sqlite" \
  --latency --latency-out "$work/latency.csv" --repeats "$repeats" --limit "$limit" --total "$total" "${traces[@]}" | tee "$work/daemon-qos1.txt" &
loadpid=$!
while kill -0 $loadpid 2>/dev/null; do sleep 30; echo "  daemon resident $(rss), journal segments $(ls "$work/store.sqlite.journal" | wc -l), WAL file $(stat -c %s "$work/store.sqlite-wal" | awk '{printf "%.1f MB", $1/1048576}')"; done
wait $loadpid
python3 - "$work/store.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda t: db.execute("SELECT count(*) FROM " + t).fetchone()[0]
print("store: %d visits, %d alerts, %d dead letters, %d late positions" % (q("visits"), q("alerts"), q("dead_letters"), q("late_positions")))
PY
python3 - "$work/latency.csv" <<'PY2'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by_min = {}
for r in rows: by_min.setdefault(int(float(r["sent_s"]) // 60), []).append(float(r["latency_ms"]))
print("alert latency by minute of the run (alerts, p50, p99, max in ms):")
for m, l in sorted(by_min.items()):
    l.sort(); q = lambda p: l[min(len(l) - 1, int(p * len(l)))]
    print("  minute %3d: %6d alerts, p50 %7.1f, p99 %8.1f, max %8.1f" % (m, len(l), q(0.5), q(0.99), l[-1]))
PY2
