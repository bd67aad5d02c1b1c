import InspectionCore
import Testing

/// The daemon reloads the registry while vehicles are parked at sites (SIGHUP, or new tasks).
@Suite struct RegistryReloadTests {
    let factory = Town.at(30, 20)

    func feed(_ engine: inout Engine, _ vehicle: String, from: String, minutes: Double, into out: inout EngineOutput) {
        let v = engine.vehicleNumber(vehicle)
        var t = Town.t(from)
        let end = t + Millis(minutes * 60_000)
        while t <= end {
            _ = engine.ingest(Position(vehicle: v, ts: t, lat: factory.lat, lon: factory.lon), into: &out)
            t += 15_000
        }
    }

    @Test func anOpenStayFollowsItsSiteWhenTheNumberingChanges() {
        var s = Scenario.town()
        var engine = Engine(registry: s.registry, settings: s.settings)
        var out = EngineOutput()
        feed(&engine, "amr-1", from: "2025-06-17 09:00", minutes: 10, into: &out)
        #expect(out.opened.map(\.siteId) == ["F1"])
        // a new site whose id sorts first shifts every site number
        s.addSite("A0", enterprise: "E-A0", region: "R1", Town.rect(-5000, -5000, 50, 50))
        s.task("T1", agency: "AMR", enterprise: "E-FACTORY", kind: .complaint, start: "2025-06-18", end: "2025-06-18")
        engine.replaceRegistry(s.registry, into: &out)
        feed(&engine, "amr-1", from: "2025-06-17 09:10:15", minutes: 10, into: &out)
        engine.finish(into: &out)
        #expect(out.closed.count == 1)
        #expect(out.closed.first?.siteId == "F1")
        #expect(out.closed.first?.durationS == 1215)
        #expect(engine.registry.tasks["T1"] != nil)
    }

    @Test func aStayAtASiteThatIsGoneEndsAtItsLastPositionThere() {
        var s = Scenario.town()
        var engine = Engine(registry: s.registry, settings: s.settings)
        var out = EngineOutput()
        feed(&engine, "amr-1", from: "2025-06-17 09:00", minutes: 10, into: &out)
        s.sites.removeAll { $0.0.id == "F1" }
        engine.replaceRegistry(s.registry, into: &out)
        #expect(out.closed.map(\.siteId) == ["F1"])
        #expect(out.closed.first?.end == Town.t("2025-06-17 09:10"))
        feed(&engine, "amr-1", from: "2025-06-17 09:10:15", minutes: 10, into: &out)
        engine.finish(into: &out)
        #expect(out.closed.count == 1)  // no site there any more: no new visit
    }
}
