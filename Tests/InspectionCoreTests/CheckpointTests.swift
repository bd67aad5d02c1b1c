import Foundation
import InspectionCore
import Testing

/// An engine stopped anywhere, checkpointed through JSON and resumed, says what an engine that
/// never stopped says (SPEC §5: the daemon resumes open stays after a restart).
@Suite struct CheckpointTests {
    static func busyTown() -> Scenario {
        var s = Scenario.town()
        s.task("T1", agency: "AMR", enterprise: "E-FACTORY", kind: .planned, start: "2025-06-17", end: "2025-06-19")
        s.inspect("amr-1", from: "2025-06-17 09:30", minutes: 40)
        s.inspect("env-1", from: "2025-06-17 10:00", minutes: 25)
        s.inspect("amr-2", from: "2025-06-18 14:00", minutes: 30)
        s.park("fire-1", at: Town.at(90, 10), from: "2025-06-17 09:40", minutes: 95, every: 600)  // asleep in the workshop
        s.inspect("amr-1", from: "2025-06-19 09:00")
        return s
    }

    static func feed(_ engine: inout Engine, _ ps: ArraySlice<Position>, _ visits: inout [VisitRecord], _ alerts: inout [AlertRecord]) {
        var out = EngineOutput()
        for p in ps { _ = engine.ingest(p, into: &out); visits += out.closed; alerts += out.alerts; out.removeAll() }
    }

    /// Checkpoints written before the rules' lookups were rebuilt on restore carried them too, and
    /// each occasion was an object with named fields.
    static func inTheEarlierFormat(_ saved: Data) throws -> Data {
        var o = try #require(JSONSerialization.jsonObject(with: saved) as? [String: Any])
        var rules = try #require(o["rules"] as? [String: Any])
        let names = ["id", "enterpriseId", "begin", "year", "agencies", "taskId", "counts", "jointGroup"]
        let occasions = try #require(rules["occasions"] as? [[Any]]).map { fields in
            Dictionary(zip(names, fields).filter { !($0.1 is NSNull) }, uniquingKeysWith: { a, _ in a })
        }
        #expect(occasions.allSatisfy { $0.count >= 7 })
        rules["occasions"] = occasions
        rules["occasionByKey"] = Dictionary(occasions.enumerated().map { ("t\u{1f}T\($0.offset)", $0.offset) }, uniquingKeysWith: { a, _ in a })
        rules["occasionsAt"] = ["E-FACTORY": Array(occasions.indices)]
        o["rules"] = rules
        return try JSONSerialization.data(withJSONObject: o)
    }

    @Test(arguments: [(0.2, false), (0.5, false), (0.77, false), (0.5, true)])
    func resumingFromACheckpointChangesNothing(at share: Double, earlierFormat: Bool) throws {
        let s = Self.busyTown()
        let whole = s.run()
        #expect(whole.visits.count == 5 && !whole.alerts.isEmpty)

        var engine = Engine(registry: s.registry, settings: s.settings)
        var ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        _ = Engine.orderByTime(&ps)
        let cut = Int(Double(ps.count) * share)
        var visits: [VisitRecord] = [], alerts: [AlertRecord] = []
        Self.feed(&engine, ps[..<cut], &visits, &alerts)
        var saved = try JSONEncoder().encode(engine.checkpoint())
        if earlierFormat {
            #expect(!engine.rules.occasions.isEmpty)
            saved = try Self.inTheEarlierFormat(saved)
        }
        var out = EngineOutput()
        var resumed = Engine(registry: s.registry, settings: s.settings,
                             restoring: try JSONDecoder().decode(EngineCheckpoint.self, from: saved), into: &out)
        #expect(out.isEmpty)
        Self.feed(&resumed, ps[cut...], &visits, &alerts)
        resumed.finish(into: &out)
        visits += out.closed; alerts += out.alerts
        Engine.sortForOutput(&visits, &alerts)
        #expect(visits.map(\.json) == whole.visits.map(\.json))
        #expect(alerts.map(\.json) == whole.alerts.map(\.json))
        #expect(resumed.counts == whole.counts && resumed.accepted == whole.accepted)
    }

    @Test func aStayWhoseSiteIsGoneFromTheRegistryEndsOnRestore() throws {
        var s = Scenario.town()
        s.park("amr-1", at: Town.at(30, 20), from: "2025-06-17 09:30", minutes: 20)
        var engine = Engine(registry: s.registry, settings: s.settings)
        var visits: [VisitRecord] = [], alerts: [AlertRecord] = []
        let ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        Self.feed(&engine, ps[...], &visits, &alerts)
        #expect(visits.isEmpty)  // open
        let c = engine.checkpoint()
        #expect(c.openStays == 1)
        var smaller = s
        smaller.sites.removeAll { $0.0.id == "F1" }
        var out = EngineOutput()
        _ = Engine(registry: smaller.registry, settings: s.settings, restoring: c, into: &out)
        #expect(out.closed.map(\.siteId) == ["F1"])
        #expect(out.closed.first?.end == Town.t("2025-06-17 09:50"))
    }
}

/// The positions that make a visit (SPEC §5 evidence), as the daemon's engine reports them.
@Suite struct EvidenceTests {
    @Test func aVisitsEvidenceIsEveryPositionFromItsFirstToItsLastExcursionsIncluded() {
        var s = Scenario.town()
        let start = Town.t("2025-06-17 09:00")
        // Parked at the factory 15 minutes, one fix 45 m outside (an excursion that comes back).
        for k in 0..<60 {
            let p = k == 30 ? Town.at(30, 85) : Town.at(30, 20)
            s.fix("amr-1", start + Millis(k) * 15_000, p)
        }
        s.drive("amr-1", from: Town.at(30, 200), to: Town.at(3000, 3000), start: start + 60 * 15_000, kmh: 40)
        s.drive("env-1", from: Town.at(-300, 50), to: Town.at(300, 50), start: start)  // a drive-by: no evidence
        var engine = Engine(registry: s.registry, settings: s.settings, evidence: true)
        var ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        _ = Engine.orderByTime(&ps)
        var out = EngineOutput()
        var evidence: [String: [Fix]] = [:]
        var visits: [VisitRecord] = []
        for p in ps {
            _ = engine.ingest(p, into: &out)
            for (id, fixes) in out.evidence { evidence[id, default: []] += fixes }
            visits += out.closed
            out.removeAll()
        }
        #expect(visits.count == 1)
        let v = visits[0]
        let e = evidence[v.visitId] ?? []
        #expect(evidence.count == 1)
        #expect(e.count == v.points && v.points == 60)
        #expect(e.map(\.ts) == (0..<60).map { start + Millis($0) * 15_000 })
        #expect(e[30].lat > e[29].lat)  // the excursion fix is part of it
    }
}
