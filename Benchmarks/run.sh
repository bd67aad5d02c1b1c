#!/usr/bin/env bash
# The benchmarks of issue 2, in one run on one machine so the ratios compare like with like:
# replay throughput (100,000 sites, 10,000 vehicles, 2,000,000 positions from a CSV file), the
# spatial query alone against shapely's STRtree on the same sites and points, and resident memory
# with 100,000 sites and 50,000 vehicles. Usage: Benchmarks/run.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/inspection-bench}
swift build -c release --product inspection-bench >/dev/null
bench=.build/release/inspection-bench
if [ ! -f "$work/positions.csv" ]; then
  $bench generate --sites 100000 --vehicles 10000 --fixes 200 --seed 1 --out "$work"
fi
echo "== replay (one core)"
taskset -c 0 $bench replay --registry "$work" --positions "$work/positions.csv"
echo "== spatial query, engine (one core)"
taskset -c 0 $bench spatial --registry "$work" --points "$work/points.csv" | tee "$work/spatial.txt"
echo "== spatial query, shapely $(python3 -c 'import shapely; print(shapely.__version__)') (one core, same sites and points)"
OMP_NUM_THREADS=1 taskset -c 0 python3 Benchmarks/shapely_peer.py "$work" "$work/points.csv" 1000000 | tee "$work/shapely.txt"
ours=$(awk '/^bestSite \(nearest/ {print $(NF-1)}' "$work/spatial.txt")
bulk=$(awk '/bulk query/ {print $(NF-1)}' "$work/shapely.txt")
single=$(awk '/one point at a time/ {print $(NF-1)}' "$work/shapely.txt")
python3 -c "print('ratio engine/shapely: %.1fx one point at a time, %.1fx against shapely bulk' % ($ours/$single, $ours/$bulk))"
echo "== memory"
$bench memory --registry "$work" --vehicles 50000
echo "== simulator: 1,000 vehicles × 30 days on the Kotka roads (one core), then replay of it"
swift build -c release --product inspection-sim >/dev/null
data=${INSPECTIONWATCH_DATA:-$(cd .. && pwd)/shared/data}
/usr/bin/time -f "generate: %e s wall, %M KB peak" taskset -c 0 .build/release/inspection-sim generate \
  --roads "$data/osm/kotka-roads.geojson" --sites "$data/osm/kotka-polygons.geojson" \
  --vehicles 1000 --days 30 --seed 1 --out "$work/fleet"
swift build -c release --product inspection-watch >/dev/null
taskset -c 0 .build/release/inspection-watch replay --registry "$work/fleet/registry" --positions "$work"/fleet/traces/*.csv \
  --out "$work/fleet/replay" | head -1
cmp -s "$work/fleet/replay/alerts.ndjson" "$work/fleet/truth/alerts.ndjson" && echo "replay equals the ground truth"
