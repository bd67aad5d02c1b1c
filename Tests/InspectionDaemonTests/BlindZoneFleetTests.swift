import Foundation
import InspectionCore
import InspectionFiles
import InspectionReplay
import InspectionSim
import InspectionStore
import InspectionTestSupport
import Testing

/// SPEC §3.4 end to end: a simulated fleet whose trackers lose coverage on a fifth of their days
/// and send their backlog afterwards (`inspection-sim publish --blind-zone 0.2`: JT/T 808 0x0704
/// batches, or late single messages), through a real broker into `inspection-watch serve`, killed
/// (SIGKILL) while the backlog arrives and started again. The store's current visits and alerts
/// are replay's on the same positions, and the scenario's ground truth.
@Suite(.serialized) struct BlindZoneFleetTests {
    static var bin: URL { SharedData.repoRoot.appendingPathComponent(".build/debug") }

    @Test(arguments: [PayloadFormat.jt808, .native])
    func blindZoneBacklogsGiveWhatReplayGivesThoughKilledMeanwhile(format: PayloadFormat) throws {
        let broker = try TestBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blind-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = ScenarioOptions()
        o.seed = 13; o.vehicles = 10; o.days = 9
        let s = try SharedData.scenario(o)
        _ = try ScenarioFiles.write(s, noise: Noise(), seed: 13, to: dir.path)
        let store = dir.appendingPathComponent("store.sqlite").path
        let httpPort = try TestBroker.freePort()
        let config = dir.appendingPathComponent("config.yaml")
        try Data("""
            registry: { dir: \(dir.path)/registry }
            mqtt:
              port: \(broker.port)
              client_id: blind-zone-daemon
              subscriptions:
                - { filter: "\(format.defaultFilter)", format: \(format.rawValue) }
            store: { path: \(store), checkpoint_interval: 1s }
            http: { port: \(httpPort) }
            """.utf8).write(to: config)
        let log = dir.appendingPathComponent("daemon.log").path
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        var daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path], stdout: log)
        #expect(eventually { logText().contains("mqtt connected") })

        let traces = (1...o.days).map { dir.appendingPathComponent("traces/day-\($0 < 10 ? "0" : "")\($0).csv").path }
        let files = try traces.map { ($0, try FileBytes.read($0)) }
        var options = Publisher.Options()
        options.format = format; options.blindZone = 0.2; options.seed = 13
        let (positions, _) = try Publisher.load(files)
        let messages = Publisher.messages(positions, options: options)
        #expect(messages.contains { $0.batch } == (format == .jt808))
        // Published at a pace the daemon keeps up with, so that the kill falls inside the run.
        let publish = try spawn(Self.bin.appendingPathComponent("inspection-sim").path,
                                ["publish", "--broker", "127.0.0.1:\(broker.port)", "--format", format.rawValue, "--blind-zone", "0.2",
                                 "--seed", "13", "--rate", "4000", "--quiet"] + traces)
        let reader = try Store(path: store, readOnly: true)
        #expect(eventually(60) { ((try? reader.processedSeq()) ?? 0) > Int64(messages.count / 3) })
        kill(daemon, SIGKILL)
        var st: Int32 = 0
        waitpid(daemon, &st, 0)
        daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path], stdout: log)
        defer { kill(daemon, SIGTERM); waitpid(daemon, &st, 0) }
        waitpid(publish, &st, 0)
        #expect(st == 0, "inspection-sim publish failed")
        #expect(eventually(90) { ((try? reader.processedSeq()) ?? 0) >= Int64(messages.count) }, "daemon log:\n\(logText())")

        let stored = try Store(path: store)
        let replay = try Replay.process(registry: s.registry, settings: EngineSettings(), inputs: files.map { ($0.0, $0.1) })
        // Visits still open live are closed by the end of a replay: compare what is fixed.
        let visits = try stored.visits()
        #expect(Set(visits.map(\.visitId)) == Set(replay.visits.map(\.visitId)))
        let replayed = Dictionary(uniqueKeysWithValues: replay.visits.map { ($0.visitId, $0) })
        for v in visits {
            let r = replayed[v.visitId]
            #expect(v.start == r?.start && v.openedAt == r?.openedAt && v.taskId == r?.taskId && v.occasionId == r?.occasionId)
            if let end = v.end { #expect(end == r?.end) }
        }
        let alerts = try stored.currentAlerts()
        #expect(alerts.map(\.alertId) == replay.alerts.map(\.alertId))
        #expect(alerts.map { $0.json.serialized } == replay.alerts.map { $0.json.serialized })
        // And what the vehicles did: the ground truth.
        #expect(Set(visits.map(\.visitId)) == Set(s.visits.map(\.visitId)))
        #expect(Set(alerts.map(\.alertId)) == Set(s.alerts.map(\.alertId)))
        // The metrics count what the restarted daemon worked in, and how late it was.
        let metrics = httpGet(port: httpPort, "/metrics")?.body ?? ""
        func value(_ series: String) -> Double {
            metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
        }
        #expect(value(#"iw_late_positions_total{outcome="reconciled"}"#) > 0, "metrics:\n\(metrics.prefix(3000))")
        #expect(value("iw_late_position_lateness_seconds_count") > 0)
        // The backlogs did change what had been said (the test shows something: alerts were
        // raised by late positions or withdrawn); a visit superseded is kept and not current.
        #expect(try stored.count("alert_status") > 0)
        #expect(try stored.supersededVisits().allSatisfy { !Set(visits.map(\.visitId)).contains($0.visitId) })
        #expect(logText().contains("resumed") || logText().contains("checkpoint"))
    }
}
