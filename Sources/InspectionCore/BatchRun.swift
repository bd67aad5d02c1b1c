/// The engine over a finite set of positions (replay, tests): time order, feed, finish, records
/// sorted by time then id as SPEC §5 asks.
public struct BatchResult: Sendable {
    public var visits: [VisitRecord]
    public var alerts: [AlertRecord]
    /// Whether the positions already were in time order.
    public var wasSorted: Bool
}

extension Engine {
    public mutating func run(_ positions: inout [Position]) -> BatchResult {
        let wasSorted = Self.orderByTime(&positions)
        var out = EngineOutput()
        var visits: [VisitRecord] = []
        var alerts: [AlertRecord] = []
        for p in positions {
            _ = ingest(p, into: &out)
            if !out.isEmpty {
                visits += out.closed
                alerts += out.alerts
                out.removeAll()
            }
        }
        finish(into: &out)
        visits += out.closed
        alerts += out.alerts
        Self.sortForOutput(&visits, &alerts)
        return BatchResult(visits: visits, alerts: alerts, wasSorted: wasSorted)
    }

    /// The order of SPEC §5's files: by time (a visit's start, an alert's `at`), then id.
    public static func sortForOutput(_ visits: inout [VisitRecord], _ alerts: inout [AlertRecord]) {
        visits.sort { $0.start != $1.start ? $0.start < $1.start : byteOrder($0.visitId, $1.visitId) }
        alerts.sort { $0.at != $1.at ? $0.at < $1.at : byteOrder($0.alertId, $1.alertId) }
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
}
