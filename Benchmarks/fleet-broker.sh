# Sourced by daemon.sh and soak.sh, with `work` set: release builds, the simulated fleet
# (1,000 vehicles × 30 days on the Kotka roads, made once in $work/fleet), and a mosquitto from
# Config/mosquitto.conf on a free loopback port ($port), stopped with everything in $pids on exit.
data=${INSPECTIONWATCH_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$work"
for p in inspection-watch inspection-sim inspection-bench; do swift build -c release --product $p >/dev/null; done
bin=.build/release
if [ ! -d "$work/fleet" ]; then
  $bin/inspection-sim generate --roads "$data/osm/kotka-roads.geojson" --sites "$data/osm/kotka-polygons.geojson" \
    --vehicles 1000 --days 30 --seed 1 --out "$work/fleet" >/dev/null
fi
traces=("$work"/fleet/traces/day-*.csv)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s/^listener .*/listener $port 127.0.0.1/" -e "s|^persistence_location .*|persistence_location $work/|" \
    -e "s|^log_dest .*|log_dest file $work/broker.log|" -e "s/^allow_anonymous .*/allow_anonymous true/" \
    -e "/^password_file/d" Config/mosquitto.conf > "$work/mosquitto.conf"
echo "user root" >> "$work/mosquitto.conf"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
rm -f "$work"/mosquitto.db  # no session left over from an earlier run
mosquitto -c "$work/mosquitto.conf" 2>/dev/null & pids+=($!)
sleep 0.5
