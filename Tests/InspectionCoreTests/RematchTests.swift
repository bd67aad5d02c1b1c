import InspectionCore
import Testing

/// A task registered late (SPEC §5: tasks arrive through the API every day): matching the visits
/// already seen again gives what the engine would have said had the task been there from the start.
@Suite struct RematchTests {
    /// AMR at the factory on four days (repeated and high-frequency), ENV there on day 2 (multi-agency),
    /// FIRE at the workshop.
    static func week() -> Scenario {
        var s = Scenario.town()
        for day in [16, 17, 18, 19] { s.inspect("amr-1", from: "2025-06-\(day) 09:30") }
        s.inspect("env-1", from: "2025-06-17 14:00")
        s.inspect("fire-1", site: Town.at(90, 10), from: "2025-06-18 10:00")
        return s
    }

    static func late(_ s: Scenario, _ add: (inout Scenario) -> Void) -> (task: InspectionTask, fresh: Outcome) {
        var t = s
        add(&t)
        return (t.tasks.last!, t.run())
    }

    static func seen(_ visits: [VisitRecord], at enterprise: String) -> [VisitRecord] {
        visits.filter { $0.enterpriseId == enterprise }
    }

    @Test(arguments: [TaskKind.complaint, .planned, .joint])
    func aLateTaskGivesWhatTheTaskFromTheStartGives(kind: TaskKind) {
        let s = Self.week()
        let (task, fresh) = Self.late(s) {
            $0.task("T-LATE", agency: "AMR", partners: kind == .joint ? ["ENV"] : [], enterprise: "E-FACTORY", kind: kind,
                    start: "2025-06-17", end: "2025-06-18", announced: kind == .complaint ? nil : "2025-06-01 09:00")
        }
        var engine = Engine(registry: s.registry, settings: s.settings)
        let ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        let before = engine.run(ps)
        let workshopOccasions = engine.rules.occasions.filter { $0.enterpriseId == "E-WORKSHOP" }

        engine.upsertTask(task)
        let (assignments, alerts) = engine.rematch(enterprise: "E-FACTORY", visits: Self.seen(before.visits, at: "E-FACTORY"))

        let expected = fresh.alerts.filter { $0.enterpriseId == "E-FACTORY" && $0.kind != .trackerSilent }
        #expect(alerts.map(\.alertId).sorted() == expected.map(\.alertId).sorted())
        for v in fresh.visits where v.enterpriseId == "E-FACTORY" {
            #expect(assignments[v.visitId] == VisitAssignment(taskId: v.taskId, occasionId: v.occasionId), "\(v.visitId)")
        }
        // Something did change (the test would pass vacuously otherwise), and other enterprises kept theirs.
        #expect(Set(alerts.map(\.alertId)) != Set(before.alerts.filter { $0.enterpriseId == "E-FACTORY" }.map(\.alertId)))
        #expect(engine.rules.occasions.filter { $0.enterpriseId == "E-WORKSHOP" } == workshopOccasions)
        #expect(engine.rules.occasions.filter { $0.enterpriseId == "E-FACTORY" }.count
                == Set(fresh.visits.filter { $0.enterpriseId == "E-FACTORY" }.map(\.occasionId)).count)
    }

    @Test func cancellingTheTaskBringsBackWhatWasSaidWithoutIt() {
        let s = Self.week()
        let (task, _) = Self.late(s) {
            $0.task("T-LATE", agency: "AMR", enterprise: "E-FACTORY", kind: .complaint, start: "2025-06-17", end: "2025-06-17")
        }
        var engine = Engine(registry: s.registry, settings: s.settings)
        let ps = s.positions.map { v, t, p in Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon) }
        let before = engine.run(ps)
        let seen = Self.seen(before.visits, at: "E-FACTORY")
        engine.upsertTask(task)
        _ = engine.rematch(enterprise: "E-FACTORY", visits: seen)
        var cancelled = task
        cancelled.status = .cancelled
        engine.upsertTask(cancelled)
        let (assignments, alerts) = engine.rematch(enterprise: "E-FACTORY", visits: seen)
        #expect(alerts.map(\.alertId).sorted() == before.alerts.filter { $0.enterpriseId == "E-FACTORY" }.map(\.alertId).sorted())
        #expect(assignments.values.allSatisfy { $0.taskId == nil })
    }
}
