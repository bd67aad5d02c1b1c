#!/usr/bin/env bash
# Soak: QoS 1 at RATE msg/s (default 20,000) for DURATION seconds (default 7200) through one
# mosquitto into the daemon; the simulated fleet (1,000 vehicles × 30 days on the Kotka roads) is
# replayed with shifted times, so simulated time runs on for years. The daemon's resident memory,
# messages processed and lag are sampled every 10 s into soak.csv and plotted into soak.png
# (matplotlib). Nothing lost: at the end every message is processed and none rejected. Alerts are
# timed from the position that raised them to a subscriber (p50, p99) over the whole run.
#   Benchmarks/soak.sh [WORKDIR]      DURATION=… RATE=… Benchmarks/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install -q matplotlib 2>/dev/null \
  || python3 -m pip install -q --break-system-packages matplotlib
work=${1:-/tmp/inspection-soak}
duration=${DURATION:-7200}
rate=${RATE:-20000}
. Benchmarks/fleet-broker.sh
rm -rf "$work/store.sqlite"*
cat > "$work/daemon.yaml" <<CONF
registry: { dir: $work/fleet/registry }
mqtt: { port: $port, client_id: soak-daemon }
store: { path: $work/store.sqlite }
http: { port: 0 }
CONF
$bin/inspection-watch serve --config "$work/daemon.yaml" 2> "$work/daemon.log" & daemon=$!
pids+=($daemon)
for _ in $(seq 100); do grep -q "mqtt connected" "$work/daemon.log" && break; sleep 0.1; done

total=$(( rate * duration ))
per_pass=$(cat "${traces[@]}" | grep -vc '^vehicle_id')
repeats=$(( (total + per_pass - 1) / per_pass ))
limit=$(( total < per_pass ? total : per_pass ))
echo "soak: $total messages at $rate msg/s for $duration s; samples in $work/soak.csv"
$bin/inspection-bench load --port "$port" --qos 1 --rate "$rate" --mode daemon --store "$work/store.sqlite" \
  --latency --repeats "$repeats" --limit "$limit" --total "$total" "${traces[@]}" > "$work/load.txt" &
loadpid=$!
start=$(date +%s)
echo "seconds,rss_mb,processed" > "$work/soak.csv"
processed() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select coalesce(max(value),0) from state where key=\"processed_seq\"").fetchone()[0])' "$work/store.sqlite" 2>/dev/null || echo 0; }
while kill -0 $loadpid 2>/dev/null; do
  echo "$(( $(date +%s) - start )),$(awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$daemon/status),$(processed)" >> "$work/soak.csv"
  sleep 10
done
wait $loadpid || true
cat "$work/load.txt"
python3 - "$work" "$rate" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
work, rate = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(work + "/soak.csv")))
t = [int(r["seconds"]) / 60 for r in rows]
rss = [float(r["rss_mb"]) for r in rows]
done = [int(r["processed"]) / 1e6 for r in rows]
fig, a = plt.subplots(figsize=(9, 4.5))
a.plot(t, rss, color="#1d3557", label="daemon resident memory (MB)")
a.set_xlabel("minutes"); a.set_ylabel("resident memory, MB"); a.set_ylim(0, max(rss) * 1.3)
b = a.twinx()
b.plot(t, done, color="#e63946", linestyle="--", label="messages processed (millions)")
b.set_ylabel("messages processed, millions")
a.set_title("InspectionWatch soak: QoS 1 at %d msg/s requested" % rate)
fig.legend(loc="upper left", bbox_to_anchor=(0.08, 0.88))
fig.tight_layout(); fig.savefig(work + "/soak.png", dpi=110)
half = len(rss) // 2
print("resident memory: first sample %.0f MB, peak %.0f MB, mean of the first half %.0f MB, of the second half %.0f MB"
      % (rss[0], max(rss), sum(rss[:half]) / max(1, half), sum(rss[half:]) / max(1, len(rss) - half)))
print("plot: " + work + "/soak.png")
PY
