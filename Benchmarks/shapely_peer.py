#!/usr/bin/env python3
"""The peer for the spatial benchmark: shapely (GEOS) STRtree on the same sites and points.

Prints points/s for a bulk query (all points in one call, the fastest way to use shapely) and for
one point at a time, both asking which sites lie within the margin (30 m) of each point.
"""
import json, math, sys, time
import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import shape

registry, points_file = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 200000
fc = json.load(open(registry + "/sites.geojson"))
geoms = []
for f in fc["features"]:
    g = f["geometry"]
    if g["type"] == "Point":
        geoms.append(shape(g).buffer(f["properties"]["radius_m"] / 111195.0 / math.cos(math.radians(g["coordinates"][1])), 16))
    else:
        geoms.append(shape(g))
tree = STRtree(geoms)
pts = np.loadtxt(points_file, delimiter=",")[:limit]
lat0 = float(np.mean(pts[:, 0]))
margin_deg = 30 / (111195.0 * math.cos(math.radians(lat0)))  # generous: the longitude degree
points = shapely.points(pts[:, 1], pts[:, 0])

best_bulk = best_single = float("inf")
for _ in range(3):
    t = time.perf_counter()
    pairs = tree.query(points, predicate="dwithin", distance=margin_deg)
    best_bulk = min(best_bulk, time.perf_counter() - t)
single = points[: min(len(points), 50000)]
for _ in range(2):
    t = time.perf_counter()
    for p in single:
        tree.query(p, predicate="dwithin", distance=margin_deg)
    best_single = min(best_single, time.perf_counter() - t)
print("shapely %s / GEOS %s: %d sites, %d points, %d pairs" % (shapely.__version__, shapely.geos_version_string, len(geoms), len(points), pairs.shape[1]))
print("shapely STRtree bulk query:         %.0f points/s" % (len(points) / best_bulk))
print("shapely STRtree one point at a time: %.0f points/s" % (len(single) / best_single))
