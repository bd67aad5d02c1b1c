import Foundation
import InspectionCore

/// A drivable road network from OSM-derived GeoJSON (LineString and MultiLineString features):
/// nodes where coordinates repeat join ways; the largest connected part is kept. One-way tags are
/// not honoured (enforcement vehicles are routed as if every street ran both ways).
public struct RoadGraph: Sendable {
    public struct Edge: Sendable { public var to: Int32; public var lengthM: Double; public var speedKmh: Double }

    public private(set) var nodes: [LatLon] = []
    public private(set) var edges: [[Edge]] = []
    /// Metres per degree of longitude at the network's latitude (a local flat projection).
    public let metresPerDegLon: Double

    /// Typical speeds by OSM `highway` class, km/h.
    static func speed(_ highway: String?) -> Double {
        switch highway ?? "" {
        case "motorway", "trunk": return 80
        case "motorway_link", "trunk_link", "primary": return 50
        case "primary_link", "secondary", "secondary_link": return 45
        case "tertiary", "tertiary_link", "unclassified": return 40
        case "living_street", "service": return 15
        default: return 30
        }
    }

    public init(geojson: Data, file: String) throws {
        guard let fc = try? JSONSerialization.jsonObject(with: geojson) as? [String: Any],
              let features = fc["features"] as? [[String: Any]] else {
            throw SimError("\(file): not a GeoJSON FeatureCollection")
        }
        var index: [Int64: Int32] = [:]
        var rawNodes: [LatLon] = []
        var rawEdges: [[Edge]] = []
        func node(_ c: [Double]) -> Int32 {
            let key = Int64((c[1] * 1e7).rounded()) &* 4_000_000_000 &+ Int64((c[0] * 1e7).rounded())
            if let n = index[key] { return n }
            let n = Int32(rawNodes.count)
            index[key] = n
            rawNodes.append(LatLon(lat: c[1], lon: c[0]))
            rawEdges.append([])
            return n
        }
        for (i, f) in features.enumerated() {
            guard let g = f["geometry"] as? [String: Any], let type = g["type"] as? String else { continue }
            let highway = (f["properties"] as? [String: Any])?["highway"] as? String
            let lines: [[[Double]]]
            switch type {
            case "LineString": lines = [(g["coordinates"] as? [[Double]]) ?? []]
            case "MultiLineString": lines = (g["coordinates"] as? [[[Double]]]) ?? []
            default: continue
            }
            for line in lines {
                guard line.allSatisfy({ $0.count >= 2 && Geo.isValid(lat: $0[1], lon: $0[0]) }) else {
                    throw SimError("\(file): feature \(i): a coordinate is not a valid [lon, lat]")
                }
                for k in line.indices.dropFirst() {
                    let a = node(line[k - 1]), b = node(line[k])
                    guard a != b else { continue }
                    let len = Geo.haversineM(rawNodes[Int(a)], rawNodes[Int(b)])
                    let v = Self.speed(highway)
                    rawEdges[Int(a)].append(Edge(to: b, lengthM: len, speedKmh: v))
                    rawEdges[Int(b)].append(Edge(to: a, lengthM: len, speedKmh: v))
                }
            }
        }
        guard !rawNodes.isEmpty else { throw SimError("\(file): no LineString roads") }
        // Keep the largest connected part: every stop must be reachable from every depot.
        var component = [Int32](repeating: -1, count: rawNodes.count)
        var best = (id: Int32(0), size: 0)
        var c: Int32 = 0
        for start in rawNodes.indices where component[start] < 0 {
            var stack = [start], size = 0
            component[start] = c
            while let n = stack.popLast() {
                size += 1
                for e in rawEdges[n] where component[Int(e.to)] < 0 { component[Int(e.to)] = c; stack.append(Int(e.to)) }
            }
            if size > best.size { best = (c, size) }
            c += 1
        }
        var renumber = [Int32](repeating: -1, count: rawNodes.count)
        for i in rawNodes.indices where component[i] == best.id {
            renumber[i] = Int32(nodes.count)
            nodes.append(rawNodes[i])
        }
        edges = Array(repeating: [], count: nodes.count)
        for i in rawNodes.indices where renumber[i] >= 0 {
            edges[Int(renumber[i])] = rawEdges[i].map { Edge(to: renumber[Int($0.to)], lengthM: $0.lengthM, speedKmh: $0.speedKmh) }
        }
        guard nodes.count >= 2 else { throw SimError("\(file): the road network has no connected part with 2 nodes") }
        let midLat = nodes.map(\.lat).reduce(0, +) / Double(nodes.count)
        metresPerDegLon = Geo.metresPerDegree * cos(midLat * .pi / 180)
    }

    /// The nearest node to a point, and its distance in metres.
    public func nearestNode(_ p: LatLon) -> (node: Int32, distanceM: Double) {
        var best = (Int32(0), Double.infinity)
        for (i, n) in nodes.enumerated() {
            let d = Geo.approxDistanceM(p.lat, p.lon, n.lat, n.lon)
            if d < best.1 { best = (Int32(i), d) }
        }
        return best
    }

    /// Shortest paths by travel time from one node: the previous node on each path.
    public func shortestPathTree(from source: Int32) -> [Int32] {
        var dist = [Double](repeating: .infinity, count: nodes.count)
        var prev = [Int32](repeating: -1, count: nodes.count)
        var heap = MinHeap()
        dist[Int(source)] = 0
        heap.push(0, source)
        while let (d, n) = heap.pop() {
            guard d <= dist[Int(n)] else { continue }
            for e in edges[Int(n)] {
                let nd = d + e.lengthM / e.speedKmh
                if nd < dist[Int(e.to)] { dist[Int(e.to)] = nd; prev[Int(e.to)] = n; heap.push(nd, e.to) }
            }
        }
        return prev
    }

    /// The node sequence from the tree's source to `target`.
    public static func path(to target: Int32, tree prev: [Int32]) -> [Int32] {
        var out = [target]
        var n = target
        while prev[Int(n)] >= 0 { n = prev[Int(n)]; out.append(n) }
        return out.reversed()
    }

    public func speedKmh(from a: Int32, to b: Int32) -> Double {
        edges[Int(a)].first { $0.to == b }?.speedKmh ?? 30
    }
}

/// A binary heap of (key, node) pairs, smallest key first.
struct MinHeap {
    private var items: [(Double, Int32)] = []

    mutating func push(_ k: Double, _ v: Int32) {
        items.append((k, v))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i].0 < items[p].0 else { break }
            items.swapAt(i, p); i = p
        }
    }

    mutating func pop() -> (Double, Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].0 < items[m].0 { m = l }
                if r < items.count && items[r].0 < items[m].0 { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}
