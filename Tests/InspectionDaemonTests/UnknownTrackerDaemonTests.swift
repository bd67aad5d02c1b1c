import Foundation
import InspectionCore
import InspectionStore
import InspectionTestSupport
import Testing

/// Issue 28 item 3 through the daemon: 2,000 trackers no vehicle names send once; when the
/// positions' time has moved a late horizon past them, the next checkpoint forgets them.
@Suite(.serialized) struct UnknownTrackerDaemonTests {
    @Test func twoThousandStrangersAreCountedThenForgottenAndTheCheckpointShrinks() throws {
        let broker = try TestBroker()
        let setup = try DaemonEndToEndTests.Setup(brokerPort: broker.port, format: .native)
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        let pid = try setup.startDaemon()
        defer { _ = DaemonEndToEndTests.terminate(pid) }
        #expect(eventually { setup.log.contains("mqtt connected") }, "daemon log:\n\(setup.log)")

        let now = Millis(Date().timeIntervalSince1970 * 1000)
        let long = String(repeating: "x", count: 40)
        let (client, acked) = try trackerGateway(port: broker.port)
        func send(_ vehicle: String, _ ts: Millis) throws {
            let json = #"{"vehicle_id":"\#(vehicle)","ts":"\#(Timestamp.formatUTC(ts))","lat":60.1,"lon":24.9}"#
            try client.publish(topic: "vehicles/\(vehicle)/position", payload: Array(json.utf8), qos: 1)
        }
        for k in 0..<2000 { try send("stranger-\(k)-\(long)", now - 72 * 3_600_000) }
        #expect(eventually(60) { acked.count == 2000 })
        func metric(_ series: String) -> Double? {
            let body = httpGet(port: setup.httpPort, "/metrics")?.body ?? ""
            return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        // Counted while they are the newest positions there are.
        #expect(eventually(60) { metric(#"iw_trackers{registered="false"}"#) == 2000 },
                "metrics:\n\(httpGet(port: setup.httpPort, "/metrics")?.body.split(separator: "\n").filter { $0.contains("tracker") || $0.contains("checkpoint") } ?? [])")
        let store = try Store(path: setup.store, readOnly: true)
        #expect(eventually(30) { ((try? store.checkpoint())?.seq ?? 0) >= 2000 })
        let before = try #require(try store.checkpoint()).state.count
        // A registered vehicle's position now: the strangers have been quiet for three days.
        try send(setup.fixes[0].vehicle, now)
        #expect(eventually(60) { metric("iw_unknown_trackers_forgotten_total") == 2000 }, "daemon log:\n\(setup.log)")
        #expect(eventually(30) { metric(#"iw_trackers{registered="false"}"#) == 0 })
        #expect(eventually(30) { ((try? store.checkpoint())?.state.count ?? .max) * 10 < before },
                "checkpoint of \(before) bytes before")
        client.stop()
    }
}
