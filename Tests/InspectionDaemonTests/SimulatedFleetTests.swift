import Foundation
import InspectionCore
import InspectionMQTT
import InspectionSim
import InspectionStore
import InspectionTestSupport
import Testing

/// The demo as a test: a simulated fleet on the Kotka roads published by `inspection-sim publish`
/// through a real broker into `inspection-watch serve`; the supervision office's subscriber gets
/// every alert of the scenario's ground truth, each exactly once.
@Suite(.serialized) struct SimulatedFleetTests {
    static var bin: URL { SharedData.repoRoot.appendingPathComponent(".build/debug") }

    @Test func theOfficeReceivesEachGroundTruthAlertExactlyOnce() throws {
        let broker = try TestBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = ScenarioOptions()
        o.seed = 11; o.vehicles = 15; o.days = 10
        let s = try SharedData.scenario(o)
        _ = try ScenarioFiles.write(s, noise: Noise(), seed: 11, to: dir.path)
        let store = dir.appendingPathComponent("store.sqlite").path
        let config = dir.appendingPathComponent("config.yaml")
        try Data("""
            registry: { dir: \(dir.path)/registry }
            mqtt:
              port: \(broker.port)
              client_id: fleet-daemon
              subscriptions:
                - { filter: "vehicles/+/position", format: native }
            store: { path: \(store) }
            """.utf8).write(to: config)
        let alerts = Collected<String>()
        var settings = MQTTSettings()
        settings.port = broker.port
        settings.clientId = "supervision-office"
        let office = try MQTTClient(settings: settings, onMessage: { m in
            if let obj = try? JSONSerialization.jsonObject(with: Data(m.payload)) as? [String: Any], let id = obj["alert_id"] as? String {
                alerts.append(id)
            }
        })
        try office.subscribe("alerts/#", qos: 1)
        try office.start()
        let log = dir.appendingPathComponent("daemon.log").path
        let daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path], stdout: log)
        defer { kill(daemon, SIGTERM); var st: Int32 = 0; waitpid(daemon, &st, 0) }
        #expect(eventually { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("mqtt connected") })
        let traces = (1...o.days).map { dir.appendingPathComponent("traces/day-\($0 < 10 ? "0" : "")\($0).csv").path }
        let status = try run(Self.bin.appendingPathComponent("inspection-sim").path,
                             ["publish", "--broker", "127.0.0.1:\(broker.port)", "--quiet"] + traces)
        #expect(status == 0)
        let truth = s.alerts.map(\.alertId)
        #expect(truth.count > 200)
        #expect(eventually(60) { alerts.count >= truth.count })
        Thread.sleep(forTimeInterval: 1)  // a double would arrive now
        #expect(alerts.all.sorted() == truth.sorted())
        let stored = try Store(path: store)
        #expect(Set(try stored.visits().map(\.visitId)) == Set(s.visits.map(\.visitId)))
        office.stop()
    }
}
