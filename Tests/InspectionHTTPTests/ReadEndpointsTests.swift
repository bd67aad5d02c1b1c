import Foundation
import InspectionCore
@testable import InspectionHTTP
import InspectionTestSupport
import Testing

/// What a Traccar or Tile38 user expects to read (issue 26 item 7): the sites as GeoJSON, the
/// agencies, the vehicles with their newest position.
@Suite struct ReadEndpointsTests {
    @Test func sitesAgenciesAndVehiclesWithTheirNewestPosition() throws {
        let w = try APIWorld()
        try w.publishStays()
        #expect(eventually(20) { (w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["total"] as? Int) == 1 })

        let sites = w.call("GET", "/api/v1/sites", token: APIWorld.readonly).json
        #expect(sites["type"] as? String == "FeatureCollection" && sites["total"] as? Int == 2)
        let features = sites["features"] as? [[String: Any]] ?? []
        let s1 = try #require(features.first)
        let geometry = try #require(s1["geometry"] as? [String: Any])
        #expect(geometry["type"] as? String == "Point" && geometry["coordinates"] as? [Double] == [121.47, 31.23])
        let props = try #require(s1["properties"] as? [String: Any])
        #expect(props["site_id"] as? String == "S1" && props["name"] as? String == "Plant one" && props["radius_m"] as? Double == 60)
        let raw = try #require(httpRequest(port: w.httpPort, "GET", "/api/v1/sites", token: APIWorld.readonly))
        #expect(raw.status == 200)
        // Search by name or enterprise id; a box; a bad box names the parameter.
        #expect((w.call("GET", "/api/v1/sites?q=plant%20two", token: APIWorld.readonly).json["features"] as? [Any])?.count == 1)
        #expect((w.call("GET", "/api/v1/sites?enterprise_id=E1", token: APIWorld.readonly).json["total"] as? Int) == 1)
        #expect((w.call("GET", "/api/v1/sites?bbox=121.48,31.2,121.5,31.3", token: APIWorld.readonly).json["total"] as? Int) == 1)
        #expect((w.call("GET", "/api/v1/sites?bbox=100,10,101,11", token: APIWorld.readonly).json["total"] as? Int) == 0)
        let badBox = w.call("GET", "/api/v1/sites?bbox=1,2,3", token: APIWorld.readonly)
        #expect(badBox.status == 400 && (badBox.json["error"] as? [String: Any])?["field"] as? String == "bbox")
        #expect(w.call("GET", "/api/v1/sites", token: nil).status == 401)

        let agencies = w.call("GET", "/api/v1/agencies", token: APIWorld.supervisor).json["agencies"] as? [[String: Any]] ?? []
        #expect(agencies.map { $0["name"] as? String } == ["Market", "Environment"])
        #expect(agencies.map { $0["vehicles"] as? Int } == [1, 1])
        #expect(agencies.first?["jurisdiction"] as? [String] == ["R1"] && agencies.last?["jurisdiction"] as? String == "*")
        #expect((w.call("GET", "/api/v1/agencies", token: APIWorld.agencyA2).json["agencies"] as? [[String: Any]])?.map { $0["agency_id"] as? String } == ["A2"])

        // The newest position each vehicle sent: 1 km north of its site, 5 minutes after the stay.
        let vehicles = w.call("GET", "/api/v1/vehicles", token: APIWorld.supervisor).json["vehicles"] as? [[String: Any]] ?? []
        #expect(vehicles.map { $0["vehicle_id"] as? String } == ["V1", "V2"])
        #expect(vehicles.first?["agency_name"] as? String == "Market")
        let last = try #require(vehicles.first?["last_position"] as? [String: Any])
        #expect(last["lat"] as? Double == 31.24 && last["lon"] as? Double == 121.47)
        #expect(last["ts"] as? String == Timestamp.formatUTC(APIWorld.t0 + 21 * 30_000 + 300_000))
        #expect((w.call("GET", "/api/v1/vehicles", token: APIWorld.agencyA2).json["vehicles"] as? [[String: Any]])?.map { $0["vehicle_id"] as? String } == ["V2"])
        #expect(w.call("GET", "/api/v1/vehicles?agency_id=A1", token: APIWorld.agencyA2).status == 403)
    }

    @Test func aPolygonWithAHoleStaysOnePolygonWithItsHole() {
        let shell = [LatLon(lat: 0, lon: 0), LatLon(lat: 0, lon: 10), LatLon(lat: 10, lon: 10), LatLon(lat: 10, lon: 0)]
        let hole = [LatLon(lat: 4, lon: 4), LatLon(lat: 4, lon: 6), LatLon(lat: 6, lon: 6), LatLon(lat: 6, lon: 4)]
        let island = [LatLon(lat: 20, lon: 20), LatLon(lat: 20, lon: 21), LatLon(lat: 21, lon: 21)]
        let grouped = APIValues.polygons([shell, hole, island])
        #expect(grouped.map(\.count) == [2, 1])
        #expect(grouped[0][1] == hole)
    }
}

/// The enterprise page's figures (issue 26 item 3): every agency's visits this year against the cap.
@Suite struct EnterprisePageTests {
    @Test func anEnterprisesYearCountsWhatTheStoreHolds() throws {
        let w = try APIWorld()
        try w.publishStays()
        #expect(eventually(20) { (w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["total"] as? Int) == 1 })
        let e = w.call("GET", "/api/v1/enterprises/E1?year=2026", token: APIWorld.supervisor)
        #expect(e.status == 200)
        #expect(e.json["name"] as? String == "Plant one" && e.json["annual_cap"] as? Int == 2)
        let agencies = e.json["agencies"] as? [[String: Any]] ?? []
        #expect(agencies.map { $0["agency_id"] as? String } == ["A1"])
        #expect(agencies.first?["agency_name"] as? String == "Market")
        #expect(agencies.first?["counting_occasions"] as? Int == 1 && agencies.first?["without_task"] as? Int == 1)
        #expect(agencies.first?["over_cap"] as? Bool == false)
        // The visits are the store's visits at E1, with names.
        let stored = w.call("GET", "/api/v1/visits?enterprise_id=E1", token: APIWorld.supervisor).json["visits"] as? [[String: Any]] ?? []
        let shown = e.json["visits"] as? [[String: Any]] ?? []
        #expect(shown.map { $0["visit_id"] as? String } == stored.map { $0["visit_id"] as? String } && !shown.isEmpty)
        #expect(shown.first?["site_name"] as? String == "Plant one" && shown.first?["counts_towards_cap"] as? Bool == true)
        let open = e.json["open_alerts"] as? [[String: Any]] ?? []
        #expect(open.map { $0["kind_name"] as? String } == ["无任务入企"])
        #expect(open.first?["agency_name"] as? String == "Market" && open.first?["status_name"] as? String == "待处理")
        // Another year is empty; an agency sees its own; an unknown enterprise is 404.
        #expect((w.call("GET", "/api/v1/enterprises/E1?year=2025", token: APIWorld.supervisor).json["visits"] as? [Any])?.isEmpty == true)
        #expect((w.call("GET", "/api/v1/enterprises/E1?year=2026", token: APIWorld.agencyA2).json["visits"] as? [Any])?.isEmpty == true)
        #expect(w.call("GET", "/api/v1/enterprises/E9", token: APIWorld.supervisor).status == 404)
        // Names ride on the lists too.
        let alert = (w.call("GET", "/api/v1/alerts", token: APIWorld.readonly).json["alerts"] as? [[String: Any]])?.first
        #expect(alert?["site_name"] as? String == "Plant one" && alert?["kind_name"] as? String == "无任务入企")
    }

    @Test func jointTasksCountForEveryAgencyAndExemptKindsCountForNone() {
        let t0: Millis = 1_773_108_000_000
        func visit(_ id: String, _ agency: String, occasion: String, task: String?, day: Int) -> VisitRecord {
            VisitRecord(visitId: id, vehicleId: "V-\(agency)", agencyId: agency, siteId: "S1", enterpriseId: "E1", start: t0 + Millis(day) * 86_400_000,
                        end: nil, points: 10, taskId: task, occasionId: occasion, openedAt: t0)
        }
        let tasks = [
            "J": InspectionTask(id: "J", agencyId: "A1", partnerAgencyIds: ["A2"], enterpriseId: "E1", kind: .joint, start: t0, end: t0 + 86_400_000),
            "C": InspectionTask(id: "C", agencyId: "A1", enterpriseId: "E1", kind: .complaint, start: t0, end: t0 + 400 * 86_400_000),
        ]
        var settings = EngineSettings()
        settings.classCaps = ["A": 1]
        let year = EnterpriseYear(visits: [visit("v1", "A1", occasion: "o1", task: "J", day: 0), visit("v2", "A1", occasion: "o2", task: "C", day: 5),
                                           visit("v3", "A1", occasion: "o3", task: nil, day: 9)],
                                  tasks: tasks, riskClass: "A", settings: settings)
        #expect(year.cap == 1)
        // A1: the joint occasion and the one without a task count, the complaint does not; A2
        // sent no vehicle, but the joint task is its too.
        #expect(year.agencies == [EnterpriseYear.Agency(agencyId: "A1", visits: 3, occasions: 3, counting: 2, withTask: 2, withoutTask: 1),
                                  EnterpriseYear.Agency(agencyId: "A2", visits: 0, occasions: 1, counting: 1, withTask: 1, withoutTask: 0)])
    }
}
