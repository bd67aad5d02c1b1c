import InspectionCore
import InspectionTestSupport
import Testing

/// SPEC §3.4 case by case, with plain positions and times: what a tracker's backlog changes when
/// it arrives after newer positions, and that the office is then told what replay says.
@Suite struct LatePositionTests {
    let factory = Town.at(30, 20)
    let outside = Town.at(30, 120)  // 80 m north of the factory's fence: beyond the 30 m margin

    /// The positions in time order, except those of `vehicle` in `held`: sent after the first of its
    /// positions past the window — or past `release`, when the tracker was back only later —
    /// or at the end, as a tracker sends its backlog.
    static func arrival(_ s: Scenario, vehicle: String, held: ClosedRange<Millis>, release: Millis? = nil) -> [(String, Millis, LatLon)] {
        let after = max(held.upperBound, release ?? .min)
        let ordered = s.positions.enumerated().sorted { $0.element.1 != $1.element.1 ? $0.element.1 < $1.element.1 : $0.offset < $1.offset }
            .map(\.element)
        let backlog = ordered.filter { $0.0 == vehicle && held.contains($0.1) }
        var out: [(String, Millis, LatLon)] = []
        var sent = false
        for p in ordered where !(p.0 == vehicle && held.contains(p.1)) {
            out.append(p)
            if !sent && p.0 == vehicle && p.1 > after { out += backlog; sent = true }
        }
        if !sent { out += backlog }
        return out
    }

    struct Delivered {
        var ledger: Ledger
        var engine: Engine
        var reconciliations: [Reconciliation]
        var results: [Engine.Result]
    }

    static func deliver(_ s: Scenario, _ order: [(String, Millis, LatLon)]) -> Delivered {
        var engine = Engine(registry: s.registry, settings: s.settings, lateHorizon: true)
        var ledger = Ledger()
        var out = EngineOutput()
        var all: [Reconciliation] = []
        var results: [Engine.Result] = []
        for (v, t, p) in order {
            results.append(engine.ingest(Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon), into: &out))
            all += out.reconciliations
            ledger.take(out)
            out.removeAll()
        }
        engine.finish(into: &out)
        ledger.take(out)
        return Delivered(ledger: ledger, engine: engine, reconciliations: all, results: results)
    }

    /// Delivered with `held` late, the office is told what replay says.
    static func expectReplay(_ s: Scenario, vehicle: String = "amr-1", held: ClosedRange<Millis>, release: String? = nil) -> Delivered {
        let d = deliver(s, arrival(s, vehicle: vehicle, held: held, release: release.map(Town.t)))
        let want = s.run()
        let got = d.ledger.current
        #expect(got.visits == want.visits)
        #expect(got.alerts == want.alerts)
        #expect(d.engine.counts == want.counts)
        #expect(d.engine.accepted == want.accepted)
        return d
    }

    static func window(_ from: String, _ to: String) -> ClosedRange<Millis> { Town.t(from)...Town.t(to) }

    /// Withdrawn alerts of a kind (the office's view: in the ledger, withdrawn), by the visit they named.
    static func withdrawn(_ d: Delivered, _ kind: AlertKind) -> [String?] {
        d.ledger.withdrawn.compactMap { d.ledger.alerts[$0] }.filter { $0.kind == kind }.map(\.visitId)
    }

    @Test func aBacklogThatHoldsAWholeStayCreatesItsVisitAndAlerts() {
        var s = Scenario.town()
        s.inspect("amr-1", from: "2025-06-17 09:30", minutes: 30)
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:29", "2025-06-17 10:00:30"))
        // The backlog arrives a fix at a time (as single late messages do): the visit appears once
        // five minutes of it are in, at its own times, with its alert.
        let visits = d.reconciliations.flatMap(\.visits)
        #expect(Set(visits.map(\.start)) == [Town.t("2025-06-17 09:30")])
        #expect(visits.allSatisfy { $0.openedAt == Town.t("2025-06-17 09:35") })
        let raised = d.reconciliations.flatMap(\.raised)
        #expect(raised.map(\.kind) == [.unregisteredVisit])
        #expect(raised.first?.at == Town.t("2025-06-17 09:35"))  // at the visit's own time
        #expect(d.ledger.superseded.isEmpty && d.ledger.withdrawn.isEmpty)
    }

    @Test func positionsInAGapJoinTwoStaysIntoOneVisit() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        // Three minutes away (more than exit_grace) — but at 09:11:30 and 09:12:30 it was back in.
        s.park("amr-1", at: outside, from: "2025-06-17 09:10:30", minutes: 3, every: 60)
        s.fix("amr-1", Town.t("2025-06-17 09:11:40"), factory)
        s.fix("amr-1", Town.t("2025-06-17 09:12:20"), factory)
        s.park("amr-1", at: factory, from: "2025-06-17 09:14", minutes: 16)
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:11:35", "2025-06-17 09:12:25"), release: "2025-06-17 09:25")
        #expect(d.ledger.current.visits.count == 1)
        let second = RuleEngine.visitId(vehicleId: "amr-1", siteId: "F1", start: Town.t("2025-06-17 09:14"))
        let first = RuleEngine.visitId(vehicleId: "amr-1", siteId: "F1", start: Town.t("2025-06-17 09:00"))
        #expect(d.ledger.superseded.map { $0.key } == [second])
        #expect(d.ledger.superseded[second] == .some(first))
        #expect(Self.withdrawn(d, .unregisteredVisit) == [second])
    }

    @Test func positionsAwaySplitOneVisitIntoTwo() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        s.park("amr-1", at: outside, from: "2025-06-17 09:10:30", minutes: 3, every: 30)  // the backlog
        s.park("amr-1", at: factory, from: "2025-06-17 09:14", minutes: 16)
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:10:30", "2025-06-17 09:13:30"), release: "2025-06-17 09:25")
        #expect(d.ledger.current.visits.map(\.start) == [Town.t("2025-06-17 09:00"), Town.t("2025-06-17 09:14")])
        #expect(d.ledger.current.visits.first?.end == Town.t("2025-06-17 09:10"))  // ends earlier
        #expect(d.ledger.superseded.isEmpty)  // the first keeps its id (the same start)
        #expect(d.reconciliations.flatMap(\.raised).map(\.kind) == [.unregisteredVisit])  // the second's
    }

    @Test func earlierPositionsMoveAVisitsStart() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 30)
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:00", "2025-06-17 09:04:59"), release: "2025-06-17 09:20")
        let moved = RuleEngine.visitId(vehicleId: "amr-1", siteId: "F1", start: Town.t("2025-06-17 09:05"))
        let now = RuleEngine.visitId(vehicleId: "amr-1", siteId: "F1", start: Town.t("2025-06-17 09:00"))
        #expect(d.ledger.superseded[moved] != nil)  // every start before was superseded in turn ...
        #expect(d.ledger.superseded.values.allSatisfy { $0 != nil })  // ... each by the visit that replaced it
        #expect(Self.withdrawn(d, .unregisteredVisit).contains(moved))
        #expect(d.ledger.current.visits.map(\.visitId) == [now])
    }

    @Test func aBacklogThatFillsASilentGapWithdrawsTheSilentTrackerAlert() {
        var s = Scenario.town()
        let road = Town.at(30, 300)  // 280 m from the factory: near it, not at it
        s.fix("amr-1", Town.t("2025-06-17 09:00"), road)
        s.drive("amr-1", from: road, to: Town.at(2000, 300), start: Town.t("2025-06-17 09:01"), kmh: 20, every: 60)
        s.drive("amr-1", from: Town.at(2000, 300), to: road, start: Town.t("2025-06-17 09:20"), kmh: 20, every: 60)
        s.fix("amr-1", Town.t("2025-06-17 09:45"), road)
        // Live, the tracker went quiet by the factory for 45 minutes.
        let live = Self.deliver(s, s.positions.filter { $0.1 == Town.t("2025-06-17 09:00") || $0.1 == Town.t("2025-06-17 09:45") })
        #expect(live.ledger.current.alerts.map(\.kind) == [.trackerSilent])
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:00:30", "2025-06-17 09:44"))
        // Fix by fix the gap shrinks (each shorter gap still silent, near the factory, is said and
        // withdrawn in turn) until the positions fill it: in the end no tracker was silent.
        let withdrawn = d.reconciliations.flatMap(\.withdrawn)
        #expect(!withdrawn.isEmpty && withdrawn.allSatisfy { $0.kind == .trackerSilent })
        #expect(withdrawn.contains { $0.alertId == live.ledger.current.alerts.first?.alertId })
        #expect(d.ledger.current.alerts.isEmpty)
    }

    @Test func aVisitAcrossMidnightKeepsItsDayAndOccasion() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 23:40", minutes: 40)
        s.drive("amr-1", from: Town.at(30, 200), to: Town.at(3000, 3000), start: Town.t("2025-06-18 00:20:15"), kmh: 40)
        _ = Self.expectReplay(s, held: Self.window("2025-06-17 23:39", "2025-06-18 00:21"))
    }

    @Test func aStartMovedIntoATaskWindowMakesTheVisitCoveredAndWithdrawsUnregistered() {
        var s = Scenario.town()
        s.task("T1", agency: "AMR", enterprise: "E-FACTORY", kind: .complaint, start: "2025-06-17 09:00", end: "2025-06-17 10:00")
        s.park("amr-1", at: factory, from: "2025-06-17 09:55", minutes: 30)
        // Live, the visit starts at 10:05, after the task's window: not covered.
        let late = Self.window("2025-06-17 09:55", "2025-06-17 10:04:59")
        let live = Self.deliver(s, s.positions.filter { !late.contains($0.1) })
        #expect(live.ledger.current.alerts.map(\.kind) == [.unregisteredVisit])
        let d = Self.expectReplay(s, held: late, release: "2025-06-17 10:20")
        #expect(d.ledger.current.visits.map(\.taskId) == ["T1"])
        #expect(d.ledger.current.alerts.isEmpty)
        #expect(Self.withdrawn(d, .unregisteredVisit).count == d.ledger.superseded.count)  // each start's in turn
        #expect(!d.ledger.superseded.isEmpty)
    }

    @Test func aPositionOlderThanTheHorizonIsSetAsideAndCounted() {
        var s = Scenario.town()
        s.settings.lateHorizon = 3_600_000
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 30)
        s.park("amr-1", at: Town.at(3000, 3000), from: "2025-06-17 11:00", minutes: 10)
        var order = s.positions.filter { $0.1 != Town.t("2025-06-17 09:10") }
        order.append(("amr-1", Town.t("2025-06-17 09:10"), factory))  // two hours behind the newest
        let d = Self.deliver(s, order)
        #expect(d.results.last == .rejected(.late))
        #expect(d.engine.counts[.late] == 1)
        #expect(d.reconciliations.isEmpty)
    }

    @Test func aLateOutlierIsCountedAsOneAndChangesNothing() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 30)
        s.fix("amr-1", Town.t("2025-06-17 09:10:05"), Town.at(40_000, 0))  // 40 km away for 5 s
        let d = Self.expectReplay(s, held: Self.window("2025-06-17 09:10:05", "2025-06-17 09:10:05"))
        #expect(d.engine.counts[.outlier] == 1)
        #expect(d.reconciliations.allSatisfy { $0.visits.isEmpty && $0.raised.isEmpty && $0.withdrawn.isEmpty && $0.updated.isEmpty })
    }

    @Test func lateDuplicatesAreCountedOnceAndIgnored() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 30)
        var order = Self.arrival(s, vehicle: "amr-1", held: Self.window("2025-06-17 09:00", "2025-06-17 09:10"))
        let again = order.filter { $0.1 >= Town.t("2025-06-17 09:05") && $0.1 <= Town.t("2025-06-17 09:10") }
        order += again  // the backlog sent twice
        let d = Self.deliver(s, order)
        #expect(d.results.suffix(again.count).allSatisfy { $0 == .rejected(.duplicate) })
        #expect(d.engine.counts[.duplicate] == again.count)
        let want = s.run()
        #expect(d.ledger.current.visits == want.visits && d.ledger.current.alerts == want.alerts)
    }
}
