import Foundation
import InspectionCore
import InspectionReplay
import InspectionSim
import InspectionTestSupport
import Testing

/// `inspection-sim generate` on the real Kotka and Helsinki OSM extracts: deterministic, on the
/// roads, and exactly what `replay` computes from its own traces.
@Suite struct ScenarioTests {
    static func generate(_ area: String = "kotka", seed: UInt64 = 7, vehicles: Int = 20, days: Int = 14,
                         plant: [Behaviour: Int]? = nil, scans: Bool = false) throws -> Scenario {
        var o = ScenarioOptions()
        o.seed = seed; o.vehicles = vehicles; o.days = days; o.scans = scans
        if let plant { o.plant = plant; o.plantNamed = Set(plant.keys) }  // as `--plant name=N` asks
        return try SharedData.scenario(o, area: area)
    }

    static let kotka = Result { try generate(scans: true) }

    static func replay(_ s: Scenario, noise: Noise = Noise()) throws -> (Replay.Summary, NoiseCounts) {
        var writer = TraceWriter(noise: noise, seed: 7)
        let files = writer.files(s)
        var summary = try Replay.process(registry: s.registry, settings: EngineSettings(), inputs: files)
        if let scans = s.scans {
            // As `replay --scans scans.csv` reads the file the scenario writes.
            try Replay.judgeScans(&summary, registry: s.registry, settings: EngineSettings(),
                                  inputs: [("scans.csv", Array(ScenarioFiles.csv(scans).utf8))])
        }
        return (summary, writer.counts)
    }

    static func files(in dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        for case let url as URL in e where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(dir.path.count))] = try Data(contentsOf: url)
        }
        return out
    }

    @Test func theSameSeedGivesByteIdenticalOutput() throws {
        var noise = Noise()
        noise.jitterM = 5; noise.drop = 0.05; noise.duplicate = 0.02; noise.corrupt = 0.01; noise.delay = 0.01; noise.clockSkewS = 30
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        for run in ["a", "b"] {
            let s = try Self.generate(vehicles: 8, days: 10)
            _ = try ScenarioFiles.write(s, noise: noise, seed: 7, to: tmp.appendingPathComponent(run).path)
        }
        let other = try Self.generate(seed: 8, vehicles: 8, days: 10)
        _ = try ScenarioFiles.write(other, noise: noise, seed: 8, to: tmp.appendingPathComponent("c").path)
        let a = try Self.files(in: tmp.appendingPathComponent("a"))
        let b = try Self.files(in: tmp.appendingPathComponent("b"))
        let c = try Self.files(in: tmp.appendingPathComponent("c"))
        #expect(a.count == 4 + 10 + 3)
        #expect(a == b)
        #expect(a["/traces/day-01.csv"] != c["/traces/day-01.csv"])
    }

    @Test func movingFixesLieOnTheRoads() throws {
        let s = try Self.kotka.get()
        let roads = try RoadGraph(geojson: try Data(contentsOf: URL(fileURLWithPath: SharedData.path("osm/kotka-roads.geojson"))),
                                  file: "roads")
        var segments: [(LatLon, LatLon)] = []
        for (a, es) in roads.edges.enumerated() { for e in es where Int(e.to) > a { segments.append((roads.nodes[a], roads.nodes[Int(e.to)])) } }
        let k = roads.metresPerDegLon, m = Geo.metresPerDegree
        func distance(_ p: LatLon) -> Double {
            var best = Double.infinity
            for (a, b) in segments {
                let bx = (b.lon - a.lon) * k, by = (b.lat - a.lat) * m, px = (p.lon - a.lon) * k, py = (p.lat - a.lat) * m
                let len2 = bx * bx + by * by
                let t = len2 > 0 ? max(0, min(1, (px * bx + py * by) / len2)) : 0
                best = min(best, ((px - t * bx) * (px - t * bx) + (py - t * by) * (py - t * by)).squareRoot())
            }
            return best
        }
        // On the road is every fix at road speed (≥ 11 km/h); yards are entered at walking pace.
        var checked = 0, worst = 0.0
        for track in s.tracks {
            for f in track.enumerated() where f.element.speed10 >= 110 && f.offset % 3 == 0 {
                worst = max(worst, distance(LatLon(lat: f.element.lat, lon: f.element.lon)))
                checked += 1
            }
        }
        #expect(checked > 1500)
        #expect(worst <= 30, "a moving fix \(worst) m from the nearest road")
    }

    @Test(arguments: ["kotka", "helsinki"])
    func replayOfACleanScenarioIsItsGroundTruthExactly(area: String) throws {
        let s = area == "kotka" ? try Self.kotka.get() : try Self.generate(area, seed: 5, vehicles: 12, scans: true)
        let (r, _) = try Self.replay(s)
        #expect(s.visits.count > 300)
        #expect(r.rejected.total == 0)
        #expect(Replay.ndjson(r.visits.map(\.json)) == Replay.ndjson(s.visits.map(\.json)))
        #expect(Replay.ndjson(r.alerts.map(\.json)) == Replay.ndjson(s.alerts.map(\.json)))
        // Every kind the ordinary days and the planted behaviours make is there.
        #expect(Set(s.alerts.map(\.kind)) == Set(AlertKind.allCases))
        // Scans: most occasions covered, a few not (planted and missed), some scans with no visit.
        let c = try #require(r.scans)
        #expect(c.stored == s.scans!.count && c.skipped.isEmpty && c.duplicates == 0)
        #expect(c.covered < c.occasions && Double(c.covered) / Double(c.occasions) > 0.9)
        #expect(c.withoutVisit.values.reduce(0, +) > 0)
        #expect(r.alerts.filter { $0.kind == .unscannedVisit }.count >= c.occasions - c.covered)
    }

    @Test func eachPlantedBehaviourRaisesExactlyWhatItShould() throws {
        let s = try Self.kotka.get()
        #expect(s.planted.count == Behaviour.allCases.count)
        for p in s.planted {
            let alerts = s.alerts.filter { p.enterpriseIds.contains($0.enterpriseId) }.map(\.kind).sorted { $0.rawValue < $1.rawValue }
            let visits = s.visits.filter { p.siteIds.contains($0.siteId) }
            #expect(alerts == p.alerts, "\(p.behaviour.rawValue)")
            #expect(visits.count == p.visits, "\(p.behaviour.rawValue)")
            #expect(Set(visits.map(\.vehicleId)).isSubset(of: Set(p.vehicleIds)), "\(p.behaviour.rawValue)")
        }
        let jitter = s.planted.first { $0.behaviour == .jitter }!
        #expect(s.visits.first { $0.siteId == jitter.siteIds[0] }!.durationS! >= 1100)  // one visit across the fence, not several
    }

    @Test func badInputIsAOneLineErrorNamingTheFile() throws {
        #expect(throws: SimError.self) {
            _ = try ScenarioGenerator.generate(roads: Data("{}".utf8), roadsFile: "roads.geojson", sites: Data(), sitesFile: "s", options: ScenarioOptions())
        }
        do {
            _ = try ScenarioGenerator.generate(roads: Data(#"{"type":"FeatureCollection","features":[]}"#.utf8), roadsFile: "roads.geojson",
                                               sites: Data(), sitesFile: "s", options: ScenarioOptions())
        } catch { #expect("\(error)" == "roads.geojson: no LineString roads") }
        #expect(throws: SimError.self) { _ = try Behaviour.parseCounts("repeated=2,teleport=1") }
        #expect(try Behaviour.parseCounts("repeated=2,gate") == [.repeated: 2, .gate: 1])
        var o = ScenarioOptions()
        o.days = 3
        #expect(throws: SimError.self) { _ = try Self.generate(days: 3, plant: [.exempt: 1]) }
        _ = o
    }

    @Test func theDefaultPlantsWhatFitsAndSaysWhatWasLeftOut() throws {
        // A week has 5 working days: a repeated inspection needs 6. Asked for by default, the
        // rest is planted and that one is said to be left out; asked for by name, it is an error.
        let week = try Self.generate(days: 7)
        #expect(week.leftOut.map(\.behaviour).contains(.repeated))
        #expect(week.leftOut.first { $0.behaviour == .repeated }?.why.contains("working days") == true)
        #expect(week.planted.count == Behaviour.allCases.count - week.leftOut.count)
        // Without scans, `unscanned` cannot be planted: left out by default, an error by name.
        #expect(week.leftOut.first { $0.behaviour == .unscanned }?.why.contains("--scans") == true)
        #expect(throws: SimError.self) { _ = try Self.generate(days: 7, plant: [.unscanned: 1]) }
        #expect(!week.planted.isEmpty)
        #expect(throws: SimError.self) { _ = try Self.generate(days: 7, plant: [.repeated: 1]) }
    }
}

/// What each kind of noise costs: `replay` of the noisy traces against the clean ground truth.
/// The tolerances are the table in docs/simulator.md.
@Suite struct NoiseTests {
    struct Cost {
        var visitRecall: Double
        var extraVisits: Int
        /// Largest difference in start and end of a matched visit, seconds.
        var worstShiftS: Double
        /// Alerts other than `tracker_silent` found again (same kind, vehicle, site, task).
        var alertRecall: Double
        var alertPrecision: Double
        var silentAlerts: (truth: Int, replay: Int)
        var rejected: RejectCounts
        var counts: NoiseCounts
    }

    static func cost(_ noise: Noise) throws -> Cost {
        let s = try ScenarioTests.kotka.get()
        let (r, counts) = try ScenarioTests.replay(s, noise: noise)
        var pool = Dictionary(grouping: r.visits.indices, by: { "\(r.visits[$0].vehicleId)|\(r.visits[$0].siteId)" })
        var matched = 0, worst = 0.0
        for v in s.visits {
            let key = "\(v.vehicleId)|\(v.siteId)"
            guard let i = pool[key]?.firstIndex(where: { r.visits[$0].start <= v.end! + 60_000 && r.visits[$0].end! >= v.start - 60_000 }) else { continue }
            let w = r.visits[pool[key]![i]]
            pool[key]!.remove(at: i)
            matched += 1
            worst = max(worst, Double(abs(w.start - v.start)) / 1000, Double(abs(w.end! - v.end!)) / 1000)
        }
        func keys(_ a: [AlertRecord]) -> [String: Int] {
            a.filter { $0.kind != .trackerSilent }.reduce(into: [:]) { $0["\($1.kind)|\($1.vehicleId)|\($1.siteId)|\($1.taskId ?? "")", default: 0] += 1 }
        }
        let t = keys(s.alerts), f = keys(r.alerts)
        let common = t.reduce(0) { $0 + min($1.value, f[$1.key] ?? 0) }
        return Cost(visitRecall: Double(matched) / Double(s.visits.count), extraVisits: r.visits.count - matched, worstShiftS: worst,
                    alertRecall: Double(common) / Double(t.values.reduce(0, +)),
                    alertPrecision: Double(common) / Double(max(1, f.values.reduce(0, +))),
                    silentAlerts: (s.alerts.filter { $0.kind == .trackerSilent }.count, r.alerts.filter { $0.kind == .trackerSilent }.count),
                    rejected: r.rejected, counts: counts)
    }

    @Test func duplicatesReorderingAndDelaysCostNothing() throws {
        var n = Noise()
        n.duplicate = 0.05; n.reorder = 0.05; n.delay = 0.02
        let c = try Self.cost(n)
        let s = try ScenarioTests.kotka.get()
        let (r, _) = try ScenarioTests.replay(s, noise: n)
        #expect(c.counts.duplicated > 500 && c.counts.reordered > 500 && c.counts.delayed > 200)
        #expect(r.rejected[.duplicate] == c.counts.duplicated)
        #expect(r.visits.map(\.json) == s.visits.map(\.json))
        #expect(r.alerts.map(\.json) == s.alerts.map(\.json))
    }

    @Test func corruptLinesAreSkippedAndCounted() throws {
        var n = Noise()
        n.corrupt = 0.01
        let c = try Self.cost(n)
        #expect(c.counts.corrupted > 100)
        #expect(c.rejected[.missingField] + c.rejected[.wrongType] == c.counts.corrupted)
        #expect(c.visitRecall == 1 && c.extraVisits == 0 && c.worstShiftS <= 300)
        #expect(c.alertRecall >= 0.99 && c.alertPrecision >= 0.99)
    }

    @Test func droppedFixesShiftVisitsAndWakeTheSilentRule() throws {
        var n = Noise()
        n.drop = 0.1
        let c = try Self.cost(n)
        #expect(c.visitRecall >= 0.99 && c.extraVisits == 0 && c.worstShiftS <= 600)
        #expect(c.alertRecall >= 0.98 && c.alertPrecision >= 0.98)
        // Heartbeats lost from vehicles parked near sites are silences over 30 minutes: SPEC says flag them.
        #expect(c.silentAlerts.replay > c.silentAlerts.truth)
    }

    @Test(arguments: [5.0, 15.0])
    func gpsJitterMovesEdgesOnly(metres: Double) throws {
        var n = Noise()
        n.jitterM = metres
        let c = try Self.cost(n)
        #expect(c.visitRecall >= 0.99)
        #expect(Double(c.extraVisits) <= 0.01 * 600)
        #expect(c.alertRecall >= 0.98 && c.alertPrecision >= 0.98)
        if metres <= 5 { #expect(c.visitRecall == 1 && c.extraVisits == 0 && c.worstShiftS <= 120) }
    }

    @Test func clockSkewShiftsTimesByTheSkew() throws {
        var n = Noise()
        n.clockSkewS = 60
        let c = try Self.cost(n)
        #expect(c.visitRecall == 1 && c.extraVisits == 0 && c.worstShiftS <= 60)
        #expect(c.alertRecall >= 0.99 && c.alertPrecision >= 0.99)
    }
}
