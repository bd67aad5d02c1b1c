#!/usr/bin/env python3
"""Cross-checks InspectionWatch's geometry against GEOS (shapely) on real OSM polygons.

For random points over the Kotka polygons and points jittered around their vertices, both sides
list every polygon within 50 m of each point with its distance in metres (0 inside). They must
agree on inside/outside for every point farther than 1 cm from a boundary, and on the distance to
within 1 cm + 0.1 % (GEOS works here in one equirectangular frame for the whole area, the engine
in one per site). Self-intersecting rings are read by the even-odd rule (SPEC §2), which for GEOS
is make_valid's "linework" method. Prints the figures and exits 1 on any disagreement.
"""
import argparse, json, math, os, random, subprocess, sys, tempfile
import numpy as np
import shapely
from shapely import make_valid, STRtree
from shapely.geometry import shape

R = 6371008.8 * math.pi / 180  # metres per degree, as the engine uses
RADIUS = 50  # metres: pairs compared


def spec_geometry(geom):
    """The geometry as SPEC §2 reads it: rings with fewer than three distinct points dropped (a
    polygon whose shell is dropped goes with it); None when nothing is left."""
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    kept = []
    for rings in polys:
        good = [r for r in rings if len({tuple(c) for c in r}) >= 3]
        if rings and len({tuple(c) for c in rings[0]}) >= 3:
            kept.append(good)
    if not kept:
        return None
    return shape({"type": "MultiPolygon", "coordinates": kept})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_data = os.path.join(here, "..", "..", "..", "shared", "data")
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--data", default=os.environ.get("INSPECTIONWATCH_DATA", default_data))
    ap.add_argument("--polygons", default="osm/kotka-polygons.geojson")
    ap.add_argument("--points", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    fc = json.load(open(os.path.join(a.data, a.polygons)))
    tmp = tempfile.mkdtemp(prefix="geos-check-")
    sites, ids, geoms = [], [], []
    invalid = dropped = 0
    for n, f in enumerate(fc["features"]):
        sid = "k%05d" % n
        props = dict(f["properties"], site_id=sid, enterprise_id="E" + sid)
        sites.append({"type": "Feature", "properties": props, "geometry": f["geometry"]})
        g = spec_geometry(f["geometry"])
        if g is None:
            dropped += 1
            continue
        if not g.is_valid:
            invalid += 1
            g = make_valid(g)
        ids.append(sid)
        geoms.append(g)
    json.dump({"type": "FeatureCollection", "features": sites}, open(os.path.join(tmp, "sites.geojson"), "w"))

    rng = random.Random(a.seed)
    coords = np.array([c for f in fc["features"] for ring in f["geometry"]["coordinates"] for c in ring])
    (lon_min, lat_min), (lon_max, lat_max) = coords.min(axis=0), coords.max(axis=0)
    pts = [(rng.uniform(lat_min, lat_max), rng.uniform(lon_min, lon_max)) for _ in range(a.points)]
    for f in rng.sample(fc["features"], min(len(fc["features"]), 2000)):
        ring = f["geometry"]["coordinates"][0]
        for _ in range(10):
            lon, lat = ring[rng.randrange(len(ring))]
            pts.append((lat + rng.uniform(-8, 8) / R, lon + rng.uniform(-8, 8) / (R * math.cos(math.radians(lat)))))
    with open(os.path.join(tmp, "points.csv"), "w") as fh:
        fh.writelines("%.9f,%.9f\n" % p for p in pts)

    out = subprocess.run([a.tool, "geometry", "--sites", os.path.join(tmp, "sites.geojson"),
                          "--points", os.path.join(tmp, "points.csv"), "--radius", str(RADIUS)],
                         check=True, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines():
        i, sid, d = line.split(",")
        ours[(int(i), sid)] = float(d)

    # GEOS, in one local equirectangular frame (affine: containment is exactly as in degrees)
    lat0, lon0 = (lat_min + lat_max) / 2, (lon_min + lon_max) / 2
    kx = R * math.cos(math.radians(lat0))
    to_m = lambda c: (c - [lon0, lat0]) * [kx, R]
    polys = shapely.transform(np.array(geoms, dtype=object), to_m)
    p_arr = shapely.transform(shapely.points([(lon, lat) for lat, lon in pts]), to_m)
    tree = STRtree(polys)
    pi, gi = tree.query(p_arr, predicate="dwithin", distance=RADIUS + 0.5)
    inside = shapely.covers(polys[gi], p_arr[pi])
    dist = np.where(inside, 0.0, shapely.distance(polys[gi], p_arr[pi]))
    edge = shapely.distance(shapely.boundary(polys[gi]), p_arr[pi])

    checked = near = 0
    bad, theirs = [], set()
    for k in range(len(pi)):
        i, sid, d = int(pi[k]), ids[gi[k]], float(dist[k])
        if d > RADIUS:
            continue
        theirs.add((i, sid))
        checked += 1
        if edge[k] <= 0.01:
            near += 1
            continue
        mine = ours.get((i, sid))
        tol = 0.01 + 0.001 * d
        if mine is None:
            if d < RADIUS - tol:
                bad.append((i, sid, "missing", d, None))
        elif (mine == 0) != bool(inside[k]) or abs(mine - d) > tol:
            bad.append((i, sid, "differs", d, mine))
    extra = [(k, v) for k, v in ours.items() if k not in theirs and v < RADIUS - 0.1]
    print("geometry cross-check with GEOS %s: %d polygons (%d dropped as SPEC §2 asks, %d invalid, read even-odd), %d points, "
          "%d point-polygon pairs within %d m (%d inside), %d within 1 cm of a boundary not judged; "
          "%d disagreements, %d pairs only the engine found"
          % (shapely.geos_version_string, len(geoms), dropped, invalid, len(pts), checked, RADIUS, int(inside.sum()), near,
             len(bad), len(extra)))
    for row in bad[:10]:
        print("  disagreement:", row)
    for row in extra[:10]:
        print("  only the engine:", row)
    print("geometry cross-check: " + ("FAILED" if bad or extra else "ok"))
    sys.exit(1 if bad or extra else 0)


if __name__ == "__main__":
    main()
