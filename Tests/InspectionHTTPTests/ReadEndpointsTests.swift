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
