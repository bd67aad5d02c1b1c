import Foundation
import InspectionCore
import InspectionMQTT
import InspectionStore
import InspectionTestSupport
import Testing

/// Every table the daemon writes holds each fact once, however often the journal (a SIGKILL
/// before a checkpoint: everything after the last one is processed again) or the broker (a
/// retained message comes again on every subscribe — the OwnTracks apps publish retained) brings
/// it again (issue 28 item 12).
@Suite(.serialized) struct AuditIdempotenceTests {
    @Test func aKillAndARetainedLatePositionStoreEachFactOnce() throws {
        let broker = try TestBroker()
        let setup = try DaemonEndToEndTests.Setup(brokerPort: broker.port, format: .native)
        defer { try? FileManager.default.removeItem(at: setup.dir) }
        // No checkpoint before the kill: the restart processes the whole journal again.
        try Data("""
            registry: { dir: \(setup.registry.path) }
            mqtt:
              port: \(broker.port)
              client_id: audit-daemon
              subscriptions:
                - { filter: "vehicles/+/position", format: native }
            store: { path: \(setup.store), checkpoint_interval: 1h }
            http: { port: \(setup.httpPort) }
            """.utf8).write(to: setup.config)
        var pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") }, "daemon log:\n\(setup.log)")

        let vehicle = setup.fixes[0].vehicle
        let t0 = Millis(setup.fixes[0].ts) * 1000
        let topic = "vehicles/\(vehicle)/position"
        func fix(_ ts: Millis, _ lat: Double) -> [UInt8] {
            Array(#"{"vehicle_id":"\#(vehicle)","ts":"\#(Timestamp.formatUTC(ts))","lat":\#(lat),"lon":24.9}"#.utf8)
        }
        let (client, acked) = try trackerGateway(port: broker.port)
        let messages: [(payload: [UInt8], retain: Bool)] = [
            (fix(t0, 60.17), false),
            (fix(t0 + 48 * 3_600_000, 60.18), false),
            // Older than the 24 h horizon: set aside for audit. Retained, as OwnTracks sends.
            (fix(t0 + 3_600_000, 60.19), true),
            (Array("not json".utf8), false),
        ]
        for (payload, retain) in messages { try client.publish(topic: topic, payload: payload, qos: 1, retain: retain) }
        #expect(eventually(30) { acked.count == messages.count })
        client.stop()
        let store = try Store(path: setup.store)
        #expect(eventually(30) { ((try? store.processedSeq()) ?? 0) >= Int64(messages.count) }, "daemon log:\n\(setup.log)")
        #expect(try store.count("late_positions") == 1)
        #expect(try store.count("dead_letters") == 1)

        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = try setup.startDaemon()
        defer { _ = DaemonEndToEndTests.terminate(pid) }
        // The journal is processed again, and the broker brings the retained late position again.
        #expect(eventually(30) { ((try? store.processedSeq()) ?? 0) >= Int64(messages.count + 1) }, "daemon log:\n\(setup.log)")
        #expect(setup.log.contains("journal after the checkpoint is processed again"))
        #expect(try store.count("late_positions") == 1)
        #expect(try store.count("dead_letters") == 1)
    }
}
