import Foundation
import InspectionCore
import InspectionReplay
import Testing

/// Real traces nobody here wrote (../shared/data).
@Suite struct RealTraceTests {
    @Test func theHelsinkiCentralStationStayIsFound() throws {
        let registry = RegistryFolder.fromOSM("osm/helsinki-polygons.geojson", vehicles: (1...8).map { "aalto_dev\($0)" })
        let out = TestFiles.temporaryFolder("replay")
        let summary = try Replay(registryDir: registry.path, positionFiles: [TestFiles.data("traces/aalto-helsinki.csv")],
                                 outDir: out.path).run()
        #expect(summary.linesRead == 6030)
        #expect(summary.accepted + summary.rejected.total == 6030)
        let visits = readNDJSON(out.appendingPathComponent("visits.ndjson"))
        #expect(visits.count == summary.visits.count)
        let station = visits.filter { $0["site_id"] as? String == "way_122595198" }  // Helsingin päärautatieasema
        #expect(station.count == 1)
        let v = try #require(station.first)
        #expect(v["vehicle_id"] as? String == "aalto_dev2")
        // the phone is inside the station building from 08:10:11 to 08:22:41 UTC: 12.5 minutes
        let start = try #require(rfc3339(v["start"])), end = try #require(rfc3339(v["end"]))
        #expect(start <= Timestamp.parseRFC3339("2016-08-26T08:10:11Z")!)
        #expect(end >= Timestamp.parseRFC3339("2016-08-26T08:22:41Z")!)
        #expect(end - start < 30 * 60_000)
    }

    /// A bus that stops at stops and lights but never 5 minutes in one place, with a site at each of
    /// the places it waits longest and along its whole route: no visit.
    @Test func aBusServiceWithSitesOnItsRouteMakesNoVisit() throws {
        let text = try String(contentsOfFile: TestFiles.data("traces/limerick-bus304.csv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let fixes = rows.map { (ts: Double($0[1])!, lat: Double($0[2])!, lon: Double($0[3])!) }
        #expect(fixes.count == 2144)
        // where the bus waits: runs of fixes within 15 m of the run's first one, longest first
        var waits: [(duration: Double, lat: Double, lon: Double)] = []
        var i = 0
        while i < fixes.count {
            var j = i
            while j + 1 < fixes.count,
                  Geo.approxDistanceM(fixes[i].lat, fixes[i].lon, fixes[j + 1].lat, fixes[j + 1].lon) < 15 { j += 1 }
            waits.append((fixes[j].ts - fixes[i].ts, fixes[i].lat, fixes[i].lon))
            i = j + 1
        }
        waits.sort { $0.duration > $1.duration }
        #expect(waits[0].duration > 60)  // it does wait, at stops and lights
        #expect(waits[0].duration < 300)
        var spots = waits.prefix(25).map { ($0.lat, $0.lon) }
        spots += stride(from: 0, to: fixes.count, by: 60).map { (fixes[$0].lat, fixes[$0].lon) }
        let features: [[String: Any]] = spots.enumerated().map { n, p in
            let d = 0.0002  // about 22 × 14 m, right beside the road
            let ring = [[p.1 - d, p.0 - d / 2], [p.1 + d, p.0 - d / 2], [p.1 + d, p.0 + d / 2], [p.1 - d, p.0 + d / 2], [p.1 - d, p.0 - d / 2]]
            return ["type": "Feature", "properties": ["site_id": "S\(n)", "enterprise_id": "E\(n)"],
                    "geometry": ["type": "Polygon", "coordinates": [ring]]]
        }
        let registry = RegistryFolder(sites: ["type": "FeatureCollection", "features": features],
                                      vehicles: "vehicle_id,agency_id,plate\nbus304,AMR,\n")
        let out = TestFiles.temporaryFolder("replay")
        let summary = try Replay(registryDir: registry.path, positionFiles: [TestFiles.data("traces/limerick-bus304.csv")],
                                 outDir: out.path).run()
        #expect(summary.accepted > 2000)
        #expect(summary.visits.isEmpty)
        #expect(summary.alerts.isEmpty)
        // and the same sites do make visits when min_dwell is short enough to see the waits
        var quick = EngineSettings()
        quick.minDwell = 60_000
        let sensitive = try Replay(registryDir: registry.path, positionFiles: [TestFiles.data("traces/limerick-bus304.csv")],
                                   outDir: out.path, settings: quick).run()
        #expect(sensitive.visits.count > 0)
    }
}
