import InspectionCore
import Testing

/// The rules forget occasions no window or annual cap can count any more, so memory stays bounded
/// however long the daemon runs, and what they say does not change for it.
@Suite struct OccasionPruningTests {
    /// AMR at the factory every 9 days for two and a half years, ENV every 20 days, FIRE at the workshop monthly.
    static func years() -> Scenario {
        var s = Scenario.town()
        for k in 0..<100 {
            let day = Timestamp.formatDay(Timestamp.daysFromCivil(year: 2024, month: 1, day: 3) + k * 9)
            s.inspect("amr-1", from: "\(day) 09:30")
            if k % 2 == 0 { s.inspect("env-1", from: "\(day) 14:00") }
            if k % 3 == 0 { s.inspect("fire-1", site: Town.at(90, 10), from: "\(day) 16:00") }
        }
        return s
    }

    static func run(_ s: Scenario, pruneEvery: Int) -> (BatchResult, Int) {
        var engine = Engine(registry: s.registry, settings: s.settings)
        engine.occasionPruneInterval = pruneEvery
        let ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        let r = engine.run(ps)
        return (r, engine.rules.occasions.count)
    }

    @Test func pruningChangesNoAlertAndKeepsOnlyWhatCanStillCount() {
        let s = Self.years()
        let (kept, all) = Self.run(s, pruneEvery: .max)
        let (pruned, left) = Self.run(s, pruneEvery: 1)
        #expect(pruned.alerts.map(\.alertId) == kept.alerts.map(\.alertId))
        #expect(pruned.visits.map(\.occasionId) == kept.visits.map(\.occasionId))
        #expect(Set(kept.alerts.map(\.kind)).isSuperset(of: [.repeatedInspection, .multiAgencyInspection, .highFrequency]))
        // 2026 has begun for the latest visit: only that year's occasions and the last 30 days' remain.
        #expect(all == Set(kept.visits.map(\.occasionId)).count)
        #expect(left < all / 3, "\(left) of \(all) occasions kept")
        #expect(left > 0)
    }
}
