import Foundation
import InspectionSim
import InspectionTestSupport
import Testing

/// The supervision office's workbench in a real headless browser (Debian's chromium, driven by
/// Tests/Browser/page_check.py) against `inspection-watch serve` fed by `inspection-sim publish`
/// through a real broker: Chinese first, names not codes; an alert appears live, its evidence a
/// sentence, its track over the site and the roads of the base map; acknowledged, its status
/// changes; a cut stream catches up; exports read back equal the API; the enterprise page's counts
/// equal the store's; the overview's charts and map. Screenshots are kept in `.build/artifacts/`
/// (or `$INSPECTIONWATCH_ARTIFACTS`): web-page.png, web-page-enterprise.png, web-page-overview.png.
@Suite(.serialized) struct WebPageBrowserTests {
    static var bin: URL { SharedData.repoRoot.appendingPathComponent(".build/debug") }
    static var artifacts: URL {
        if let dir = ProcessInfo.processInfo.environment["INSPECTIONWATCH_ARTIFACTS"] { return URL(fileURLWithPath: dir) }
        return SharedData.repoRoot.appendingPathComponent(".build/artifacts")
    }

    @Test func anOfficerWorksThroughTheWorkbench() throws {
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
              base_map: \(SharedData.path("osm/kotka-roads.geojson"))
              tokens: [{ name: office, role: supervisor, token: \(token) }]
            """.utf8).write(to: config)
        let daemon = try spawn(Self.bin.appendingPathComponent("inspection-watch").path, ["serve", "--config", config.path],
                               stdout: dir.appendingPathComponent("daemon.log").path)
        defer { kill(daemon, SIGTERM); var st: Int32 = 0; waitpid(daemon, &st, 0) }
        #expect(eventually(20) { httpGet(port: httpPort, "/health")?.status == 200 })

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("web-page.png")
        for name in ["web-page.png", "web-page-enterprise.png", "web-page-overview.png"] {
            try? FileManager.default.removeItem(at: Self.artifacts.appendingPathComponent(name))
        }
        let ready = dir.appendingPathComponent("ready").path
        let output = dir.appendingPathComponent("browser.log").path
        let browser = try spawn("/usr/bin/env", ["python3", SharedData.repoRoot.appendingPathComponent("Tests/Browser/page_check.py").path,
                                                 "--url", "http://127.0.0.1:\(httpPort)/", "--token", token, "--ready", ready,
                                                 "--screenshot", screenshot.path, "--store", dir.appendingPathComponent("store.sqlite").path,
                                                 "--downloads", dir.appendingPathComponent("downloads").path], stdout: output)
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
        for name in ["web-page.png", "web-page-enterprise.png", "web-page-overview.png"] {
            let png = try Data(contentsOf: Self.artifacts.appendingPathComponent(name))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(name)")
        }
        // The base map is served for the page's roads layer.
        #expect(httpGet(port: httpPort, "/static/basemap.geojson")?.body.contains("FeatureCollection") == true)
    }
}
