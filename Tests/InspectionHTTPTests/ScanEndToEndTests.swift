import Foundation
import InspectionCore
import InspectionMQTT
import InspectionReplay
import InspectionSim
import InspectionStore
import InspectionTestSupport
import Testing

/// Code scans end to end (SPEC §3.5): a simulated fleet's positions and its scans through
/// `inspection-sim publish --scans` (each scan on `scans/<agency>` once the positions are an hour
/// past it), into `inspection-watch serve` with `scans.enabled`. The alerts that stand in the
/// store are replay's (`replay --scans`) exactly; a scan arriving after an occasion was judged
/// withdraws its `unscanned_visit`, and the office hears it on the live stream and on MQTT.
@Suite(.serialized) struct ScanEndToEndTests {
    static var bin: URL { SharedData.repoRoot.appendingPathComponent(".build/debug") }
    static let token = "office-token-0123456789"

    @Test func scansAnHourBehindThePositionsGiveReplaysAlertsAndALateScanWithdraws() throws {
        let broker = try TestBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scans-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = ScenarioOptions()
        o.seed = 21; o.vehicles = 10; o.days = 7; o.scans = true
        o.plant = [.unscanned: 2, .announced: 1, .joint: 1, .unregistered: 1]
        let s = try SharedData.scenario(o)
        _ = try ScenarioFiles.write(s, noise: Noise(), seed: 21, to: dir.path)
        let scans = try #require(s.scans)
        // Two planted occasions no scan covers: one gets its scan only at the end (late).
        let unscanned = s.planted.filter { $0.behaviour == .unscanned }
        #expect(unscanned.count == 2)
        let lateOccasion = try #require(s.alerts.first { $0.kind == .unscannedVisit && $0.enterpriseId == unscanned[0].enterpriseIds[0] })
        #expect(s.alerts.filter { $0.kind == .unscannedVisit }.count >= 2)

        let httpPort = try TestBroker.freePort()
        let store = dir.appendingPathComponent("store.sqlite").path
        let config = dir.appendingPathComponent("config.yaml")
        try Data("""
            registry: { dir: \(dir.path)/registry }
            mqtt:
              port: \(broker.port)
              client_id: scans-daemon
              subscriptions:
                - { filter: "vehicles/+/position", format: native }
                - { filter: "scans/+", format: scan }
            scans: { enabled: true }
            store: { path: \(store), checkpoint_interval: 2s }
            http:
              port: \(httpPort)
              tokens: [{ name: office, role: supervisor, token: \(Self.token) }]
            """.utf8).write(to: config)
        // The office: every alert record published, with its status when it is not open.
        let published = Collected<(id: String, status: String?)>()
        var settings = MQTTSettings()
        settings.port = broker.port
        settings.clientId = "office-scans"
        let office = try MQTTClient(settings: settings, onMessage: { m in
            if let obj = try? JSONSerialization.jsonObject(with: Data(m.payload)) as? [String: Any], let id = obj["alert_id"] as? String {
                published.append((id, obj["status"] as? String))
            }
        })
        try office.subscribe("alerts/#", qos: 1)
        try office.start()
        defer { office.stop() }
        let log = dir.appendingPathComponent("daemon.log").path
        let daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path], stdout: log)
        defer { kill(daemon, SIGTERM); var st: Int32 = 0; waitpid(daemon, &st, 0) }
        #expect(eventually(20) { httpGet(port: httpPort, "/health")?.status == 200 })
        let stream = liveStream(port: httpPort, token: Self.token)
        #expect(eventually(5) { stream.text.contains(": live alerts") })

        // The week's positions in time order, each scan once the positions are an hour past it.
        let traces = (1...o.days).map { dir.appendingPathComponent("traces/day-0\($0).csv").path }
        #expect(try run(Self.bin.appendingPathComponent("inspection-sim").path,
                        ["publish", "--broker", "127.0.0.1:\(broker.port)", "--quiet", "--scans", dir.path + "/scans.csv", "--scan-delay-s", "3600"]
                            + traces) == 0)
        #expect(scans.allSatisfy { $0.enterpriseId != lateOccasion.enterpriseId })  // planted without a scan
        let (scanner, acked) = try trackerGateway(port: broker.port)
        var sent = 0
        func sendScans(_ list: [Scan]) throws {
            for sc in list {
                _ = try scanner.publish(topic: "scans/\(sc.agencyId)", payload: sc.json.bytes, qos: 1)
                sent += 1
            }
            #expect(eventually(20) { acked.count == sent })
        }

        // What stands is replay's judgement of the same files.
        let replay = try Replay(registryDir: dir.path + "/registry", positionFiles: (1...o.days).map { dir.path + "/traces/day-0\($0).csv" },
                                outDir: dir.path + "/replay", scanFiles: [dir.path + "/scans.csv"]).run()
        #expect(replay.alerts.map(\.alertId) == s.alerts.map(\.alertId))
        let daemonStore = try Store(path: store, readOnly: true)
        let standing = { (try? daemonStore.currentAlerts()) ?? [] }
        #expect(eventually(60) { standing().map(\.alertId).sorted() == replay.alerts.map(\.alertId).sorted() },
                "only in the daemon: \(standing().filter { a in !replay.alerts.contains { $0.alertId == a.alertId } }.map { "\($0.kind.rawValue) \($0.enterpriseId)" }); only in replay: \(replay.alerts.filter { a in !standing().contains { $0.alertId == a.alertId } }.map { "\($0.kind.rawValue) \($0.enterpriseId)" })")
        #expect(try daemonStore.scans().count == scans.count)

        // The rate as the office reads it: the covered occasions and the scans without a visit
        // replay counted, and the occasions again by risk class.
        let counted = try #require(replay.scans)
        let period = "from=\(Timestamp.formatUTC(s.calendar.startOfDay(s.firstDay)))&to=\(Timestamp.formatUTC(s.calendar.startOfDay(s.firstDay + o.days + 2)))"
        let statsBody = httpRequest(port: httpPort, "GET", "/api/v1/stats?" + period, token: Self.token)?.body ?? ""
        let stats = (try? JSONSerialization.jsonObject(with: Data(statsBody.utf8))) as? [String: Any] ?? [:]
        let total = (stats["rows"] as? [[String: Any]])?.first ?? [:]
        #expect(total["occasions"] as? Int == counted.occasions, "\(statsBody.prefix(400))")
        #expect(total["scanned_occasions"] as? Int == counted.covered)
        #expect(total["scans_without_visit"] as? Int == counted.withoutVisit.values.reduce(0, +))
        #expect((total["scanned_target_met"] as? Bool) == (Double(counted.covered) / Double(counted.occasions) >= 0.95))
        let byClass = stats["by_risk_class"] as? [[String: Any]] ?? []
        #expect(byClass.compactMap { $0["occasions"] as? Int }.reduce(0, +) == counted.occasions)
        #expect(Set(byClass.compactMap { $0["risk_class"] as? String }).isSubset(of: ["A", "B", "C", "D"]) && byClass.count >= 2)

        // A scan for the planted occasion, late: its alert is withdrawn — on the stream and MQTT.
        let visit = try #require(s.visits.first { $0.visitId == lateOccasion.visitId })
        let late = Scan(scanId: "SC-LATE", enterpriseId: lateOccasion.enterpriseId, agencyId: lateOccasion.agencyId!, taskId: nil,
                        at: visit.start + 600_000)
        try sendScans([late])
        #expect(eventually(20) { published.all.contains { $0.id == lateOccasion.alertId && $0.status == "withdrawn" } })
        #expect(eventually(10) { stream.text.contains("\"alert_id\":\"\(lateOccasion.alertId)\"") && stream.text.contains("scan received") })
        #expect(eventually(10) { (try? daemonStore.currentAlerts().map(\.alertId).contains(lateOccasion.alertId)) == false })
        #expect(try daemonStore.scans().first { $0.scan.scanId == "SC-LATE" }?.source == "mqtt")
        stream.stop()
        scanner.stop()
    }
}
