import Foundation
import InspectionSim
import InspectionTestSupport
import Testing

/// The supervision office's page in a real headless browser (Debian's chromium, driven by
/// Tests/Browser/page_check.py) against `inspection-watch serve` fed by `inspection-sim publish`
/// through a real broker: an alert appears live, is acknowledged, its status changes. The
/// screenshot is kept in `.build/artifacts/web-page.png` (or `$INSPECTIONWATCH_ARTIFACTS`).
@Suite(.serialized) struct WebPageBrowserTests {
    static var bin: URL { SharedData.repoRoot.appendingPathComponent(".build/debug") }
    static var artifacts: URL {
        if let dir = ProcessInfo.processInfo.environment["INSPECTIONWATCH_ARTIFACTS"] { return URL(fileURLWithPath: dir) }
        return SharedData.repoRoot.appendingPathComponent(".build/artifacts")
    }

    @Test func anAlertAppearsLiveAndIsAcknowledged() throws {
        let broker = try TestBroker()
        defer { broker.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("page-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = ScenarioOptions()
        o.seed = 5; o.vehicles = 6; o.days = 9
        let s = try SharedData.scenario(o)
        _ = try ScenarioFiles.write(s, noise: Noise(), seed: 5, to: dir.path)
        #expect(!s.alerts.isEmpty)
        let httpPort = try TestBroker.freePort()
        let token = "office-token-for-the-page-0001"
        let config = dir.appendingPathComponent("config.yaml")
        try Data("""
            registry: { dir: \(dir.path)/registry }
            mqtt: { port: \(broker.port), client_id: page-daemon }
            store: { path: \(dir.path)/store.sqlite }
            http:
              port: \(httpPort)
              tokens: [{ name: office, role: supervisor, token: \(token) }]
            """.utf8).write(to: config)
        let daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path],
                               stdout: dir.appendingPathComponent("daemon.log").path)
        defer { kill(daemon, SIGTERM); var st: Int32 = 0; waitpid(daemon, &st, 0) }
        #expect(eventually(20) { httpGet(port: httpPort, "/health")?.status == 200 })

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("web-page.png")
        try? FileManager.default.removeItem(at: screenshot)
        let ready = dir.appendingPathComponent("ready").path
        let output = dir.appendingPathComponent("browser.log").path
        let browser = try spawn("/usr/bin/env", ["python3", SharedData.repoRoot.appendingPathComponent("Tests/Browser/page_check.py").path,
                                                 "--url", "http://127.0.0.1:\(httpPort)/", "--token", token, "--ready", ready,
                                                 "--screenshot", screenshot.path], stdout: output)
        let browserLog = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        #expect(eventually(90) { FileManager.default.fileExists(atPath: ready) }, "the page did not go live:\n\(browserLog())")
        // Only now do the trackers start: every alert the page shows arrived live.
        let traces = (1...o.days).map { dir.appendingPathComponent("traces/day-0\($0).csv").path }
        #expect(try run(Self.bin.appendingPathComponent("inspection-sim").path,
                        ["publish", "--broker", "127.0.0.1:\(broker.port)", "--quiet"] + traces) == 0)
        var status: Int32 = 0
        waitpid(browser, &status, 0)
        #expect(status == 0, "the browser check failed:\n\(browserLog())")
        let alertId = try #require(browserLog().split(separator: "\n").last.map(String.init))
        #expect(s.alerts.contains { $0.alertId == alertId })

        // The store says what the page said: acknowledged by the token's name, with the note.
        let history = httpRequest(port: httpPort, "GET", "/api/v1/alerts/\(alertId)/history", token: token)
        let json = (try? JSONSerialization.jsonObject(with: Data((history?.body ?? "").utf8))) as? [String: Any] ?? [:]
        #expect(json["status"] as? String == "acknowledged")
        let last = (json["history"] as? [[String: Any]])?.last
        #expect(last?["actor"] as? String == "office" && last?["note"] as? String == "checked with the bureau")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
    }
}
