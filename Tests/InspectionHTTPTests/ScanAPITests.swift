import Foundation
import InspectionTestSupport
import Testing

/// `POST /api/v1/scans` and `GET /api/v1/scans` against `inspection-watch serve` as a process:
/// validated as the scan subscription validates (errors name the field), an agency's token posts
/// and reads its own agency's, a scan posted twice is stored once, a different one under the same
/// id is refused.
@Suite struct ScanAPITests {
    static func scans(_ json: [String: Any]) -> [[String: Any]] { json["scans"] as? [[String: Any]] ?? [] }

    @Test func scansArePostedValidatedScopedAndListed() throws {
        let w = try APIWorld()
        let at = "2026-03-10T10:05:00+08:00"
        // An agency's token: its own agency filled in; journaled, then stored with its source.
        let posted = w.call("POST", "/api/v1/scans", token: APIWorld.agencyA1, #"{"scan_id":"SC1","enterprise_id":"E1","at":"\#(at)"}"#)
        #expect(posted.status == 202)
        #expect((posted.json["scan"] as? [String: Any])?["agency_id"] as? String == "A1")
        #expect(eventually(10) { Self.scans(w.call("GET", "/api/v1/scans", token: APIWorld.supervisor).json).count == 1 })
        let stored = Self.scans(w.call("GET", "/api/v1/scans?enterprise_id=E1", token: APIWorld.supervisor).json).first
        #expect(stored?["source"] as? String == "api" && stored?["scan_id"] as? String == "SC1" && stored?["at"] as? String == "2026-03-10T02:05:00Z")
        // The same again: stored once, said so; another scan under that id: refused.
        let again = w.call("POST", "/api/v1/scans", token: APIWorld.supervisor, #"{"scan_id":"SC1","enterprise_id":"E1","agency_id":"A1","at":"\#(at)"}"#)
        #expect(again.status == 200 && again.json["duplicate"] as? Bool == true)
        #expect(w.call("POST", "/api/v1/scans", token: APIWorld.supervisor, #"{"scan_id":"SC1","enterprise_id":"E2","agency_id":"A1","at":"\#(at)"}"#).status == 409)
        // Another agency's scan, a read-only token, bad fields: refused, the field named.
        #expect(w.call("POST", "/api/v1/scans", token: APIWorld.agencyA1, #"{"scan_id":"SC2","enterprise_id":"E1","agency_id":"A2","at":"\#(at)"}"#).status == 403)
        #expect(w.call("POST", "/api/v1/scans", token: APIWorld.readonly, #"{"scan_id":"SC3","enterprise_id":"E1","agency_id":"A1","at":"\#(at)"}"#).status == 403)
        let badTime = w.call("POST", "/api/v1/scans", token: APIWorld.supervisor, #"{"scan_id":"SC4","enterprise_id":"E1","agency_id":"A1","at":"yesterday"}"#)
        #expect(badTime.status == 400 && SupervisionAPITests.field(badTime.json) == "at")
        let missing = w.call("POST", "/api/v1/scans", token: APIWorld.supervisor, #"{"enterprise_id":"E1","agency_id":"A1","at":"\#(at)"}"#)
        #expect(missing.status == 400 && SupervisionAPITests.field(missing.json) == "scan_id")
        let unknown = w.call("POST", "/api/v1/scans", token: APIWorld.supervisor, #"{"scan_id":"SC5","enterprise_id":"E1","agency_id":"A1","at":"\#(at)","place":"gate"}"#)
        #expect(unknown.status == 400 && SupervisionAPITests.field(unknown.json) == "place")
        // Reading: an agency sees its own only; asking for another's is forbidden.
        #expect(Self.scans(w.call("GET", "/api/v1/scans", token: APIWorld.agencyA1).json).count == 1)
        #expect(Self.scans(w.call("GET", "/api/v1/scans", token: APIWorld.agencyA2).json).isEmpty)
        #expect(w.call("GET", "/api/v1/scans?agency_id=A1", token: APIWorld.agencyA2).status == 403)
        #expect(w.call("GET", "/api/v1/scans", token: nil).status == 401)
    }
}
