import Foundation
import InspectionCore
import Testing

/// An unknown tracker costs its state only while it sends (issue 28 item 3): quiet for the late
/// horizon and in no stay, it is forgotten, and nothing the engine says changes for it.
@Suite struct UnknownTrackerTests {
    /// The busy town, 300 trackers no vehicle in the registry names that send once on the first
    /// morning, one that parks in the factory and falls silent there, and one of the 300 that
    /// comes back two days later into the workshop.
    static func townWithStrangers() -> Scenario {
        var s = CheckpointTests.busyTown()
        for k in 0..<300 { s.fix("ghost-\(k)", Town.t("2025-06-17 08:00") + Millis(k), Town.at(5000 + Double(k), 5000)) }
        s.park("intruder", at: Town.at(20, 20), from: "2025-06-17 07:00", minutes: 60, every: 300)
        s.park("ghost-7", at: Town.at(90, 10), from: "2025-06-19 10:00", minutes: 20)
        s.positions.sort { $0.1 < $1.1 }
        return s
    }

    /// The engine's outputs over the scenario, forgetting quiet trackers (when `forget`) before
    /// each position after the first day and a half, as the daemon does before each checkpoint.
    static func run(_ s: Scenario, forget: Bool) -> (visits: [VisitRecord], alerts: [AlertRecord], forgotten: Int, engine: Engine) {
        var engine = Engine(registry: s.registry, settings: s.settings, lateHorizon: true)
        var out = EngineOutput()
        var visits: [VisitRecord] = [], alerts: [AlertRecord] = [], forgotten = 0
        let from = Town.t("2025-06-18 20:00")
        for (v, t, p) in s.positions {
            if forget && t >= from { forgotten += engine.forgetQuietUnknownTrackers(quietBefore: t - s.settings.lateHorizon) }
            _ = engine.ingest(Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon), into: &out)
            visits += out.opened + out.closed; alerts += out.alerts; out.removeAll()
        }
        var end = engine
        end.finish(into: &out)
        return (visits + out.closed, alerts + out.alerts, forgotten, engine)
    }

    @Test func quietUnknownTrackersAreForgottenAndNothingSaidChanges() throws {
        let s = Self.townWithStrangers()
        let kept = Self.run(s, forget: false)
        let pruned = Self.run(s, forget: true)
        // The 300 ghosts, less none: ghost-7 was forgotten too, and came back as a new tracker.
        #expect(pruned.forgotten == 300)
        #expect(kept.engine.trackers.unknown == 301)
        // The intruder is still in the factory (a stay open), ghost-7 is back: both kept.
        #expect(pruned.engine.trackers == (all: 6, unknown: 2))
        // What the engine said is the same, the intruder's and ghost-7's unregistered visits
        // included (the stays the input's end closes come in the trackers' order, renumbered).
        func said(_ vs: [VisitRecord]) -> [String] { vs.map { "\($0.visitId) \($0.vehicleId) \($0.start) \($0.end ?? 0)" }.sorted() }
        #expect(said(pruned.visits) == said(kept.visits))
        #expect(pruned.alerts.map(\.alertId) == kept.alerts.map(\.alertId))
        #expect(kept.alerts.contains { $0.kind == .unregisteredVisit && $0.vehicleId == "ghost-7" })
        #expect(kept.visits.contains { $0.vehicleId == "intruder" && $0.end != nil })
        #expect(!kept.alerts.contains { $0.kind == .trackerSilent && $0.agencyId == nil })
        // The checkpoint holds the trackers kept, and resumes.
        let big = try JSONEncoder().encode(kept.engine.checkpoint())
        let small = try JSONEncoder().encode(pruned.engine.checkpoint())
        #expect(small.count * 3 < big.count, "\(small.count) of \(big.count) bytes")
        var closed = EngineOutput()
        let resumed = Engine(registry: s.registry, settings: s.settings, restoring: try JSONDecoder().decode(EngineCheckpoint.self, from: small),
                             lateHorizon: true, into: &closed)
        #expect(resumed.trackers == (all: 6, unknown: 2))
    }

    @Test func registeredVehiclesAndTrackersInAStayAreNeverForgotten() {
        var s = Scenario.town()
        s.park("intruder", at: Town.at(20, 20), from: "2025-06-17 07:00", minutes: 60, every: 300)
        s.fix("amr-1", Town.t("2025-06-17 07:00"), Town.at(5000, 5000))
        s.fix("stranger", Town.t("2025-06-17 07:00"), Town.at(5000, 5000))
        var engine = Engine(registry: s.registry, settings: s.settings, lateHorizon: true)
        var out = EngineOutput()
        for (v, t, p) in s.positions.sorted(by: { $0.1 < $1.1 }) {
            _ = engine.ingest(Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon), into: &out)
        }
        // A quiet period not yet over forgets nothing.
        #expect(engine.forgetQuietUnknownTrackers(quietBefore: Town.t("2025-06-17 07:00")) == 0)
        #expect(engine.forgetQuietUnknownTrackers(quietBefore: Town.t("2025-06-20 00:00")) == 1)
        #expect(engine.checkpoint().vehicles.sorted() == ["amr-1", "intruder"])
    }
}

/// Sites with lat and lon swapped lie far from where the vehicles drive (issue 28 item 6).
@Suite struct SitePlacementTests {
    static func engine(_ s: Scenario) -> Engine {
        var engine = Engine(registry: s.registry, settings: s.settings)
        var out = EngineOutput()
        for (v, t, p) in s.positions.sorted(by: { $0.1 < $1.1 }) {
            _ = engine.ingest(Position(vehicle: engine.vehicleNumber(v), ts: t, lat: p.lat, lon: p.lon), into: &out)
        }
        return engine
    }

    @Test func swappedSitesAreSaidOnceEnoughVehiclesHavePositions() {
        var town = Scenario.town()
        town.fix("amr-1", Town.t("2025-06-17 09:00"), Town.at(0, 0))
        town.fix("env-1", Town.t("2025-06-17 09:00"), Town.at(300, 0))
        // Two vehicles are too few to say where the fleet is.
        #expect(Self.engine(town).sitesOutsideFleetArea() == nil)
        town.fix("fire-1", Town.t("2025-06-17 09:00"), Town.at(0, 300))
        let placed = Self.engine(town).sitesOutsideFleetArea()
        #expect(placed?.outside == 0 && placed?.sites == 4)
        #expect(Engine.sitePlacementWarning(placed) == nil)

        var swapped = town
        swapped.sites = town.sites.map { site, g in
            // Shanghai (31.2 N, 121.4 E) read as (lat 31.2, lon 121.4) swapped cannot be a latitude;
            // the swap that stays in range is lon for lat within ±90: here a site moved 30° away.
            (site, SiteGeometry(center: LatLon(lat: g.box.minLat, lon: g.box.minLon - 30), radiusM: 30))
        }
        let far = Self.engine(swapped).sitesOutsideFleetArea()
        #expect(far?.outside == 4 && far?.sites == 4)
        #expect(Engine.sitePlacementWarning(far)?.contains("4 of 4 sites") == true)
        #expect(Engine.sitePlacementWarning((outside: 2, sites: 4)) == nil)  // half is not most
    }
}
