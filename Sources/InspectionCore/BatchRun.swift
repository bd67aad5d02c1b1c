/// The engine over a finite set of positions (replay, tests): time order, feed, finish, records
/// sorted by time then id as SPEC §5 asks.
public struct BatchResult: Sendable {
    public var visits: [VisitRecord]
    public var alerts: [AlertRecord]
    /// Whether the positions already were in time order.
    public var wasSorted: Bool

    public init(visits: [VisitRecord], alerts: [AlertRecord], wasSorted: Bool) {
        self.visits = visits; self.alerts = alerts; self.wasSorted = wasSorted
    }
}

extension Engine {
    /// Runs the positions as `ingest` would, one at a time in time order (ties in input order),
    /// then `finish` — with the same result, but faster: the tracks see each vehicle's positions
    /// together, and the rules see what the tracks reported in the order of the positions that
    /// made it.
    ///
    /// A track depends on its own vehicle's positions alone; the rules, which count across
    /// vehicles, depend on the order of the events. So the positions are grouped by vehicle (one
    /// counting pass, no sort of the whole input), each vehicle's run is put in time order, and
    /// each event is tagged with its position's place in the time order — (timestamp, input
    /// index) — and the events are fed to the rules in that order. Grouped, a vehicle's state,
    /// the outline of the site it stays at and the index cells around it stay in cache from one
    /// position to the next, where in time order every position was a different vehicle's.
    public mutating func run(_ positions: [Position]) -> BatchResult {
        precondition(positions.count < Int(Int32.max), "more positions than one batch run numbers")
        let vehicles = trackCount
        // Where each vehicle's run begins, and whether the input is in time order.
        var start = [Int](repeating: 0, count: vehicles + 1)
        var wasSorted = true
        var prev = Millis.min
        for p in positions {
            precondition(Int(p.vehicle) < vehicles, "a position names a vehicle number the engine's interner never gave out")
            start[Int(p.vehicle) + 1] += 1
            if p.ts < prev { wasSorted = false }
            prev = p.ts
        }
        for v in 0..<vehicles { start[v + 1] += start[v] }
        var grouped = [Keyed](unsafeUninitializedCapacity: positions.count) { buf, count in
            var next = start
            for (i, p) in positions.enumerated() {
                let v = Int(p.vehicle)
                (buf.baseAddress! + next[v]).initialize(to: Keyed(fix: p.fix, order: Int32(i)))
                next[v] += 1
            }
            count = positions.count
        }

        var tagged: [(key: EventKey, event: TrackEvent)] = []
        let index = index  // one reference for the look-ahead, not one retain per fix
        grouped.withUnsafeMutableBufferPointer { g in
            for v in 0..<vehicles where start[v] < start[v + 1] {
                var run = UnsafeMutableBufferPointer(rebasing: g[start[v]..<start[v + 1]])
                if !wasSorted { Self.orderByTime(&run) }
                for k in run.indices {
                    Self.lookAhead(index, run, from: k)
                    let q = run[k]
                    _ = feed(q.fix, vehicle: Int32(v))
                    var sub: Int32 = 0
                    takeEvents { e in
                        tagged.append((EventKey(ts: q.fix.ts, order: q.order, sub: sub), e))
                        sub += 1
                    }
                }
            }
        }
        grouped = []
        tagged.sort { $0.key < $1.key }

        var out = EngineOutput()
        var visits: [VisitRecord] = []
        var alerts: [AlertRecord] = []
        func collect() {
            visits += out.closed
            alerts += out.alerts
            out.removeAll()
        }
        for (_, e) in tagged {
            handle(e, into: &out)
            if !out.isEmpty { collect() }
        }
        tagged = []
        finish(into: &out)
        collect()
        Self.sortForOutput(&visits, &alerts)
        return BatchResult(visits: visits, alerts: alerts, wasSorted: wasSorted)
    }

    /// Starts the spatial index's reads for the vehicle's next fixes (`SiteIndex.prefetchCells`):
    /// one fix to the next is a different place in the city, so the cells, candidates and outlines
    /// a query reads are never in cache unless fetched while the fixes before are handled.
    @inline(__always)
    static func lookAhead(_ index: SiteIndex, _ run: UnsafeMutableBufferPointer<Keyed>, from k: Int) {
        if k + 3 < run.count { index.prefetchCells(lat: run[k + 3].fix.lat, lon: run[k + 3].fix.lon) }
        if k + 2 < run.count { index.prefetchCandidates(lat: run[k + 2].fix.lat, lon: run[k + 2].fix.lon) }
        if k + 1 < run.count { index.prefetchOutlines(lat: run[k + 1].fix.lat, lon: run[k + 1].fix.lon) }
    }

    /// A fix and its place in the input.
    struct Keyed {
        var fix: Fix
        var order: Int32
    }

    /// Where an event falls among all: its position's place in the time order (timestamp, then
    /// input index), then its place among that position's events.
    struct EventKey: Comparable {
        var ts: Millis
        var order: Int32
        var sub: Int32
        static func < (a: EventKey, b: EventKey) -> Bool {
            a.ts != b.ts ? a.ts < b.ts : a.order != b.order ? a.order < b.order : a.sub < b.sub
        }
    }

    /// One vehicle's run in time order, ties in input order.
    static func orderByTime(_ run: inout UnsafeMutableBufferPointer<Keyed>) {
        var sorted = true
        for i in run.indices.dropFirst() where run[i].fix.ts < run[i - 1].fix.ts { sorted = false; break }
        if !sorted { run.sort { $0.fix.ts != $1.fix.ts ? $0.fix.ts < $1.fix.ts : $0.order < $1.order } }
    }

    /// Puts positions in time order, ties in input order. Returns whether they already were.
    public static func orderByTime(_ positions: inout [Position]) -> Bool {
        var prev = Millis.min
        var sorted = true
        for p in positions {
            if p.ts < prev { sorted = false; break }
            prev = p.ts
        }
        if sorted { return true }
        var order = Array(0..<Int32(positions.count))
        positions.withUnsafeBufferPointer { ps in
            order.sort { a, b in
                let ta = ps[Int(a)].ts, tb = ps[Int(b)].ts
                return ta != tb ? ta < tb : a < b
            }
        }
        positions = order.map { positions[Int($0)] }
        return false
    }

    /// The order of SPEC §5's files: by time (a visit's start, an alert's `at`), then id.
    public static func sortForOutput(_ visits: inout [VisitRecord], _ alerts: inout [AlertRecord]) {
        visits.sort { $0.start != $1.start ? $0.start < $1.start : byteOrder($0.visitId, $1.visitId) }
        alerts.sort { $0.at != $1.at ? $0.at < $1.at : byteOrder($0.alertId, $1.alertId) }
    }
}
