import Foundation
import InspectionCore

/// Enterprise sites chosen from real OSM polygons: spaced apart so every stop the simulator plants
/// is at exactly one site (ground truth must not hinge on tie-breaks), near a road, not larger than
/// a big industrial plot. Pairs of neighbouring polygons 8–25 m apart are kept aside for the
/// "adjacent sites" behaviour.
struct SiteCatalog {
    /// A candidate polygon: its GeoJSON geometry as read, and where it lies.
    struct Polygon {
        var osmId: String
        var geometry: Any
        var region: String?
        var center: LatLon
    }

    var polygons: [Polygon] = []
    /// Geometry and index over every candidate polygon (numbered as `polygons`).
    var all: [(Site, SiteGeometry)] = []
    var index: SiteIndex

    /// Distance between chosen sites (except adjacent pairs): twice the margin and then some.
    static let spacingM = 70.0

    init(geojson: Data, file: String, margin: Double) throws {
        guard let fc = try? JSONSerialization.jsonObject(with: geojson) as? [String: Any],
              let features = fc["features"] as? [[String: Any]] else {
            throw SimError("\(file): not a GeoJSON FeatureCollection")
        }
        var seen: [String: Int] = [:]
        var cleaned: [[String: Any]] = []
        for (i, f) in features.enumerated() {
            guard let g = f["geometry"] as? [String: Any], let type = g["type"] as? String,
                  type == "Polygon" || type == "MultiPolygon" else { continue }
            let props = f["properties"] as? [String: Any] ?? [:]
            var id = (props["site_id"] as? String) ?? (props["osm_id"].map { "osm_\($0)" }) ?? "feature_\(i)"
            if let n = seen[id] { seen[id] = n + 1; id += "#\(n + 1)" } else { seen[id] = 0 }
            cleaned.append(["type": "Feature", "properties": ["site_id": id, "enterprise_id": id], "geometry": g])
            polygons.append(Polygon(osmId: id, geometry: g, region: props["region"] as? String, center: LatLon(lat: 0, lon: 0)))
        }
        let bytes = try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": cleaned])
        var warnings: [String] = []
        do {
            all = try RegistryParser(margin: margin).parseSites(Array(bytes), warnings: &warnings)
        } catch {
            throw SimError("\(file): \(error)")
        }
        // Rings the registry drops leave their feature out: keep the two lists aligned by id.
        let kept = Set(all.map(\.0.id))
        polygons = polygons.filter { kept.contains($0.osmId) }
        index = SiteIndex(geometries: all.map(\.1), margin: margin)
        for i in polygons.indices {
            let b = all[i].1.box
            polygons[i].center = LatLon(lat: (b.minLat + b.maxLat) / 2, lon: (b.minLon + b.maxLon) / 2)
        }
        guard !polygons.isEmpty else { throw SimError("\(file): no Polygon or MultiPolygon features") }
    }

    func diagonalM(_ i: Int) -> Double {
        let b = all[i].1.box
        return Geo.approxDistanceM(b.minLat, b.minLon, b.maxLat, b.maxLon)
    }

    /// Points inside polygon `i` on a 9×9 grid over its box, the one nearest the box centre first.
    func interiorPoints(_ i: Int) -> [LatLon] {
        let b = all[i].1.box
        var out: [LatLon] = []
        for a in 1..<10 {
            for c in 1..<10 {
                let p = LatLon(lat: b.minLat + (b.maxLat - b.minLat) * Double(a) / 10,
                               lon: b.minLon + (b.maxLon - b.minLon) * Double(c) / 10)
                if all[i].1.contains(lat: p.lat, lon: p.lon) { out.append(p) }
            }
        }
        let m = polygons[i].center
        return out.sorted { Geo.approxDistanceM($0.lat, $0.lon, m.lat, m.lon) < Geo.approxDistanceM($1.lat, $1.lon, m.lat, m.lon) }
    }

    /// Chooses up to `count` spaced sites and `pairs` adjacent pairs, in a seeded order.
    /// Returns candidate numbers: singles, then pairs.
    func choose(count: Int, pairs: Int, roads: RoadGraph, rng: inout SplitMix64) -> (singles: [Int], pairs: [(Int, Int)]) {
        var order = Array(polygons.indices)
        order.shuffle(using: &rng)
        let usable = order.filter { i in
            diagonalM(i) <= 400 && diagonalM(i) >= 12 && roads.nearestNode(polygons[i].center).distanceM <= 150
                && !interiorPoints(i).isEmpty
        }
        var taken = Set<Int>()
        // No taken polygon within the spacing (outline to outline; a building inside a landuse is at 0).
        func clear(_ i: Int, except: Set<Int> = []) -> Bool {
            let reach = all[i].1.box.expanded(byMetres: Self.spacingM)
            return taken.allSatisfy { t in
                let b = all[t].1.box
                if except.contains(t) || b.minLat > reach.maxLat || b.maxLat < reach.minLat
                    || b.minLon > reach.maxLon || b.maxLon < reach.minLon { return true }
                return polygonGapM(i, t) > Self.spacingM
            }
        }
        var chosenPairs: [(Int, Int)] = []
        for a in usable where chosenPairs.count < pairs && !taken.contains(a) {
            guard clear(a) else { continue }
            // A neighbour 8–25 m away with a stop point in each more than 40 m from the other.
            for (bn, _) in index.sites(within: 60, lat: polygons[a].center.lat, lon: polygons[a].center.lon) {
                let b = Int(bn)
                guard b != a, !taken.contains(b), diagonalM(b) <= 400, clear(b, except: [a]) else { continue }
                let gap = polygonGapM(a, b)
                guard gap >= 8 && gap <= 25 else { continue }
                guard stopPoint(a, awayFrom: b) != nil, stopPoint(b, awayFrom: a) != nil else { continue }
                chosenPairs.append((a, b)); taken.insert(a); taken.insert(b)
                break
            }
        }
        var singles: [Int] = []
        for i in usable where singles.count < count && !taken.contains(i) {
            guard clear(i) else { continue }
            singles.append(i); taken.insert(i)
        }
        return (singles, chosenPairs)
    }

    /// The smallest distance from a vertex of either outline to the other polygon.
    func polygonGapM(_ a: Int, _ b: Int) -> Double {
        var best = Double.infinity
        for (x, y) in [(a, b), (b, a)] {
            for p in all[x].1.vertices { best = min(best, all[y].1.distanceM(lat: p.lat, lon: p.lon)) }
        }
        return best
    }

    /// A point inside `a` more than 40 m from `b`.
    func stopPoint(_ a: Int, awayFrom b: Int) -> LatLon? {
        interiorPoints(a).first { all[b].1.distanceM(lat: $0.lat, lon: $0.lon) > 40 }
    }
}
