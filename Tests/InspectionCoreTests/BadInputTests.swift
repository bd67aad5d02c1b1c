import InspectionCore
import Testing

/// SPEC §3.3: each row of the bad-input table.
@Suite struct BadInputTests {
    let factory = Town.at(30, 20)

    @Test(arguments: [
        (91.0, 121.4, RejectReason.outOfRange),
        (31.2, 181.0, .outOfRange),
        (-90.5, 0.0, .outOfRange),
        (Double.nan, 121.4, .outOfRange),
        (31.2, Double.infinity, .outOfRange),
        (0.0, 0.0, .nullIsland),
    ])
    func impossiblePositionsAreRejected(lat: Double, lon: Double, reason: RejectReason) {
        var s = Scenario.town()
        s.fix("amr-1", Town.t("2025-06-17 09:00"), LatLon(lat: lat, lon: lon))
        let o = s.run()
        #expect(o.counts[reason] == 1)
        #expect(o.accepted == 0)
    }

    @Test func zeroLatitudeAloneIsAcceptable() {
        var s = Scenario.town()
        s.fix("amr-1", Town.t("2025-06-17 09:00"), LatLon(lat: 0, lon: 30))
        #expect(s.run().accepted == 1)
    }

    @Test func exactDuplicatesAreDroppedAndCounted() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        let copies = s.positions
        s.positions += copies
        let o = s.run()
        #expect(o.counts[.duplicate] == copies.count)
        #expect(o.accepted == copies.count)
        #expect(o.visits.count == 1)
        #expect(o.visits[0].points == copies.count)
    }

    @Test func lateFixesAreCountedAndKeptOutOfVisitDetection() {
        let settings = EngineSettings()
        var s = Scenario.town()
        var engine = Engine(registry: s.registry, settings: settings)
        let v = engine.vehicleNumber("amr-1")
        var out = EngineOutput()
        let t0 = Town.t("2025-06-17 09:00")
        #expect(engine.ingest(Position(vehicle: v, ts: t0 + 60_000, lat: factory.lat, lon: factory.lon), into: &out) == .accepted)
        #expect(engine.ingest(Position(vehicle: v, ts: t0, lat: factory.lat, lon: factory.lon), into: &out) == .rejected(.late))
        #expect(engine.counts[.late] == 1)
        s.positions = []
    }

    @Test func aJumpAtAnImpossibleSpeedIsDroppedAsAnOutlier() {
        var s = Scenario.town()
        let t0 = Town.t("2025-06-17 09:00")
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        // one fix 5 km away 10 s later (1,800 km/h), then back
        s.positions.insert(("amr-1", t0 + 15_000 + 5000, Town.at(5000, 0)), at: 2)
        let o = s.run()
        #expect(o.counts[.outlier] == 1)
        #expect(o.visits.count == 1)
        #expect(o.visits[0].durationS == 600)
    }

    @Test func threeAgreeingFixesReAnchorTheTrack() {
        var s = Scenario.town()
        // tracker reports at the factory, goes dark, restarts 40 km away 1 minute later (a wrong clock or a
        // long unseen drive): the first three there agree with each other, so the track moves there
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        s.park("amr-1", at: Town.at(40_000, 0), from: "2025-06-17 09:11", minutes: 10)
        let o = s.run()
        #expect(o.counts[.outlier] == 0)
        #expect(o.accepted == s.positions.count)
    }

    @Test func twoAgreeingFixesAreNotEnoughToReAnchor() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 10)
        s.fix("amr-1", Town.t("2025-06-17 09:10:10"), Town.at(40_000, 0))
        s.fix("amr-1", Town.t("2025-06-17 09:10:20"), Town.at(40_010, 0))
        s.park("amr-1", at: factory, from: "2025-06-17 09:10:30", minutes: 5)
        let o = s.run()
        #expect(o.counts[.outlier] == 2)
        #expect(o.visits.count == 1)
        #expect(o.visits[0].durationS == 930)
    }

    @Test func heldOutliersAtTheEndOfInputAreCountedAsDropped() {
        var s = Scenario.town()
        s.park("amr-1", at: factory, from: "2025-06-17 09:00", minutes: 1)
        s.fix("amr-1", Town.t("2025-06-17 09:01:05"), Town.at(40_000, 0))
        let o = s.run()
        #expect(o.counts[.outlier] == 1)
        #expect(o.accepted + o.counts.total == s.positions.count)
    }
}
