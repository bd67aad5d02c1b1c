import InspectionCore

/// What the office is told, kept as plain values: the engine's records applied the way the store
/// applies them (visits upserted, superseded; alerts inserted once, updated, withdrawn, reopened).
/// Tests compare its current visits and alerts with replay's.
public struct Ledger {
    public private(set) var visits: [String: VisitRecord] = [:]
    public private(set) var superseded: [String: String?] = [:]
    public private(set) var alerts: [String: AlertRecord] = [:]
    public private(set) var withdrawn: Set<String> = []
    public private(set) var reconciliations = 0

    public init() {}

    public mutating func take(_ out: EngineOutput) {
        for v in out.opened { visits[v.visitId] = v; superseded[v.visitId] = nil }
        for v in out.closed { visits[v.visitId] = v }
        for a in out.alerts { raise(a) }
        for r in out.reconciliations { take(r) }
    }

    mutating func raise(_ a: AlertRecord) {
        if alerts[a.alertId] == nil || withdrawn.contains(a.alertId) { alerts[a.alertId] = a }
        withdrawn.remove(a.alertId)
    }

    public mutating func take(_ r: Reconciliation) {
        reconciliations += 1
        for v in r.visits { visits[v.visitId] = v; superseded[v.visitId] = nil }
        for (id, by) in r.superseded { superseded[id] = by }
        for (id, a) in r.assignments {
            visits[id]?.taskId = a.taskId
            visits[id]?.occasionId = a.occasionId
        }
        for a in r.raised { raise(a) }
        for a in r.updated { alerts[a.alertId] = a }
        for a in r.withdrawn { withdrawn.insert(a.alertId) }
    }

    /// Visits neither superseded nor open, and alerts not withdrawn, in SPEC §5's order.
    public var current: (visits: [VisitRecord], alerts: [AlertRecord]) {
        var v = visits.values.filter { superseded[$0.visitId] == nil }
        var a = alerts.values.filter { !withdrawn.contains($0.alertId) }
        Engine.sortForOutput(&v, &a)
        return (v, a)
    }
}
