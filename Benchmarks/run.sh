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
