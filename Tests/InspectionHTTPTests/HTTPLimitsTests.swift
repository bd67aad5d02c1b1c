import Foundation
import InspectionTestSupport
import Testing

/// Issue 28 item 2: sockets that connect and never send cannot take the server: each is closed
/// after `http.idle_timeout`, at most `http.max_connections` are served at once, and a normal
/// client that comes while more silent sockets than the limit are open is answered.
@Suite struct HTTPLimitsTests {
    @Test func moreSilentSocketsThanTheLimitDoNotKeepTheOfficeOut() throws {
        let w = try APIWorld(http: ["idle_timeout: 2s", "max_connections: 20"])
        let silent = (0..<40).map { _ in RawConnection(port: w.httpPort, request: "") }
        Thread.sleep(forTimeInterval: 0.5)
        // The office's request, while 40 silent sockets hold (or wait for) the 20 places.
        let answered = Collected<Int>()
        let port = w.httpPort
        let client = Thread { if let r = httpGet(port: port, "/health") { answered.append(r.status) } }
        client.start()
        #expect(eventually(30) { answered.all == [200] })
        // The server closed the silent ones (none sent a byte).
        #expect(eventually(30) { silent.allSatisfy(\.closed) }, "\(silent.filter { !$0.closed }.count) still open")
        // A live stream is a request in progress: not idle, kept past the timeout.
        let stream = liveStream(port: w.httpPort, token: APIWorld.supervisor)
        #expect(eventually(5) { stream.text.contains(": live alerts") })
        Thread.sleep(forTimeInterval: 4)
        #expect(!stream.closed)
        stream.stop()
    }
}
