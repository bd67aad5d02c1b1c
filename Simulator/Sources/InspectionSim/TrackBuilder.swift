import Foundation
import InspectionCore

/// Turns a vehicle's schedule into the fixes its tracker sends: every 10–30 s while moving along
/// the roads (shortest paths by travel time), an ignition-off fix and then one every 1–5 min while
/// parked at a stop, a heartbeat every 15–25 min in the depot overnight.
///
/// A fix that would lie within the margin of two sites at once is not sent: the ground truth never
/// depends on which of two sites wins a tie (the unit tests cover that rule).
struct TrackBuilder {
    let roads: RoadGraph
    let index: SiteIndex
    var rng: SplitMix64
    var fixes: [SimFix] = []
    /// Seconds since 1970 (fractional while driving).
    var t = 0.0
    var node: Int32 = 0
    var here = LatLon(lat: 0, lon: 0)

    init(roads: RoadGraph, index: SiteIndex, rng: SplitMix64) {
        self.roads = roads; self.index = index; self.rng = rng
    }

    mutating func rand(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }

    mutating func emit(_ p: LatLon, at ts: Int64, speedKmh: Double) {
        guard fixes.last.map({ ts > $0.ts }) ?? true else { return }
        let f = SimFix(ts: ts, lat7: Int32((p.lat * 1e7).rounded()), lon7: Int32((p.lon * 1e7).rounded()),
                       speed10: UInt16(max(0, min(6000, (speedKmh * 10).rounded()))))
        if index.sitesAt(lat: f.lat, lon: f.lon).count > 1 { return }
        fixes.append(f)
    }

    mutating func build(_ days: [[Stop]], depot: Int32, firstDay: Int, days count: Int, calendar: LocalCalendar,
                        trees: inout [Int32: [Int32]]) -> [SimFix] {
        node = depot
        here = roads.nodes[Int(depot)]
        t = Double(calendar.startOfDay(firstDay) / 1000)
        for d in 0..<count {
            let dayStart = Double(calendar.startOfDay(firstDay + d) / 1000) + 8 * 3600 + Double(rand(0...3000))
            if !days[d].isEmpty {
                if dayStart > t { park(until: dayStart, every: 900...1500) }
                for stop in days[d] {
                    drive(to: stop.node, trees: &trees)
                    perform(stop)
                }
                drive(to: depot, trees: &trees)
            }
        }
        park(until: Double(calendar.startOfDay(firstDay + count) / 1000) - 1, every: 900...1500)
        return fixes
    }

    /// Parked where it is: a fix now (ignition off), one every `every` seconds, one at `until`.
    mutating func park(until: Double, every: ClosedRange<Int>) {
        var ts = Int64(t.rounded(.up))
        emit(here, at: ts, speedKmh: 0)
        while true {
            ts += Int64(rand(every))
            guard Double(ts) < until else { break }
            emit(here, at: ts, speedKmh: 0)
        }
        t = until
        emit(here, at: Int64(until.rounded(.up)), speedKmh: 0)
    }

    /// Along the road network to `target`.
    mutating func drive(to target: Int32, trees: inout [Int32: [Int32]]) {
        guard target != node else { return }
        let tree: [Int32]
        if let cached = trees[node] { tree = cached } else { tree = roads.shortestPathTree(from: node); trees[node] = tree }
        let path = RoadGraph.path(to: target, tree: tree)
        var points: [LatLon] = []
        var speeds: [Double] = []
        for k in path.indices {
            points.append(roads.nodes[Int(path[k])])
            if k > 0 { speeds.append(roads.speedKmh(from: path[k - 1], to: path[k])) }
        }
        move(points, speeds: speeds)
        node = target
    }

    /// Along a polyline at the given speeds (km/h, ×0.75–1.05 per segment), a fix every 10–30 s.
    mutating func move(_ points: [LatLon], speeds: [Double]) {
        var next = t.rounded(.down) + Double(rand(10...30))
        for k in points.indices.dropFirst() {
            let a = points[k - 1], b = points[k]
            let kmh = speeds[k - 1] * (0.75 + 0.3 * rng.unit())
            let seconds = Geo.haversineM(a, b) / (kmh / 3.6)
            while next <= t + seconds {
                let f = (next - t) / seconds
                emit(LatLon(lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f), at: Int64(next), speedKmh: kmh)
                next += Double(rand(10...30))
            }
            t += seconds
        }
        here = points.last ?? here
    }

    /// From the road node to a point off the road (a yard, a gate) and back, at walking pace, 6 km/h.
    mutating func offRoad(to p: LatLon) { move([here, p], speeds: [6]) }

    mutating func perform(_ stop: Stop) {
        let road = here
        switch stop.style {
        case .park(let p):
            offRoad(to: p)
            park(until: t + Double(stop.dwellS), every: 60...300)
            offRoad(to: road)
        case .asleep(let p):
            offRoad(to: p)
            park(until: t + Double(stop.dwellS), every: 100_000...100_000)
            offRoad(to: road)
        case .jitter(let p, let radius):
            offRoad(to: p)
            let end = t + Double(stop.dwellS)
            let mPerDegLon = Geo.metresPerDegree * cos(p.lat * .pi / 180)
            while t < end {
                let r = radius * rng.unit().squareRoot(), a = 2 * Double.pi * rng.unit()
                emit(LatLon(lat: p.lat + r * sin(a) / Geo.metresPerDegree, lon: p.lon + r * cos(a) / mPerDegLon),
                     at: Int64(t.rounded(.up)), speedKmh: 0)
                t += 20
            }
            here = p
            offRoad(to: road)
        case .wait:
            let end = t + Double(stop.dwellS)
            while t < end { emit(here, at: Int64(t.rounded(.up)), speedKmh: 0); t += 10 }
        case .pass:
            break
        case .dark:
            park(until: t + Double(stop.dwellS), every: 100_000...100_000)
        }
    }
}
