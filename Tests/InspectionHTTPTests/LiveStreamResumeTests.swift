import Foundation
import InspectionTestSupport
import Testing

/// The live stream resumes (issue 26 item 6): every event carries an `id:`; a client that sends
/// the last one back as `Last-Event-ID` gets what it missed, from the store, and nothing before.
@Suite struct LiveStreamResumeTests {
    static func stream(_ w: APIWorld, token: String, lastEventId: String?) -> RawConnection {
        RawConnection(port: w.httpPort, request: "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                      + (lastEventId.map { "Last-Event-ID: \($0)\r\n" } ?? "") + "\r\n")
    }

    static func ids(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    @Test func aReconnectWithTheLastEventIdGetsWhatWasMissedAndNothingBefore() throws {
        let w = try APIWorld()
        let first = Self.stream(w, token: APIWorld.supervisor, lastEventId: nil)
        #expect(eventually { first.text.contains(": live alerts") })
        try w.publishStays()
        #expect(eventually(20) { first.text.contains("event: alert") }, "\(first.text)")
        let seen = try #require(Self.ids(first.text).last, "\(first.text)")
        first.stop()
        let alerts = w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["alerts"] as? [[String: Any]] ?? []
        let alertId = try #require(alerts.first?["alert_id"] as? String)

        // While nobody listens: the alert is acknowledged.
        #expect(w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.supervisor, #"{"note":"看过了"}"#).status == 200)
        let again = Self.stream(w, token: APIWorld.supervisor, lastEventId: seen)
        #expect(eventually { again.text.contains("event: status") && again.text.contains("acknowledged") }, "\(again.text)")
        #expect(!again.text.contains("event: alert"), "the alert came before the id sent back")
        // The ids go on from the one sent back.
        let resumed = try #require(Self.ids(again.text).first)
        #expect(resumed != seen && resumed.split(separator: "-").first == seen.split(separator: "-").first)
        again.stop()

        // From the beginning: the alert, then its change; an agency sees only its own.
        let all = Self.stream(w, token: APIWorld.supervisor, lastEventId: "0-0")
        #expect(eventually { all.text.contains("event: alert") && all.text.contains("acknowledged") }, "\(all.text)")
        #expect(all.text.range(of: "event: alert")!.lowerBound < all.text.range(of: "event: status")!.lowerBound)
        let other = Self.stream(w, token: APIWorld.agencyA2, lastEventId: "0-0")
        let own = Self.stream(w, token: APIWorld.agencyA1, lastEventId: "0-0")
        #expect(eventually { own.text.contains("acknowledged") })
        #expect(other.text.contains(": live alerts") && !other.text.contains(alertId))
        all.stop(); other.stop(); own.stop()

        // An id this server never gave is 400 naming the header; a missing token is 401 with
        // the scheme it wants.
        let bad = Self.stream(w, token: APIWorld.supervisor, lastEventId: "yesterday")
        #expect(eventually { bad.text.contains("400") && bad.text.contains("Last-Event-ID") }, "\(bad.text)")
        let anonymous = RawConnection(port: w.httpPort, request: "GET /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(eventually { anonymous.text.lowercased().contains("www-authenticate: bearer realm=\"inspection-watch\"") }, "\(anonymous.text)")
    }
}
