import Foundation
import InspectionCore
import InspectionTestSupport
import Testing

/// `/metrics` read by Prometheus's own parser (issue 27 item 6): HELP on every family,
/// conventional names, the process's families, the build, the broker connection, HTTP requests
/// by route and status, registry reloads by outcome.
@Suite struct MetricsExpositionTests {
    @Test func prometheusParsesEveryFamilyWithItsHelp() throws {
        let w = try APIWorld()
        try w.publishStays()
        #expect(eventually(20) { (w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["total"] as? Int) == 1 })
        #expect(w.call("POST", "/api/v1/registry/reload", token: APIWorld.supervisor).status == 200)
        try Data("task_id,agency_id\nT-BAD,A1\n".utf8).write(to: w.registry.appendingPathComponent("tasks.csv"))
        #expect(w.call("POST", "/api/v1/registry/reload", token: APIWorld.supervisor).status == 422)
        _ = w.call("GET", "/api/v1/alerts/a-none", token: APIWorld.supervisor)  // a 404 to count
        for _ in 0..<3 { #expect(w.call("GET", "/api/v1/alerts", token: APIWorld.readonly).status == 200) }  // three more 200s
        let text = try #require(httpGet(port: w.httpPort, "/metrics")?.body)
        let file = w.dir.appendingPathComponent("metrics.txt")
        try Data(text.utf8).write(to: file)
        let out = w.dir.appendingPathComponent("families.json").path
        let script = """
            import json, re, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = open(sys.argv[1]).read()
            families = {}
            for f in text_string_to_metric_families(text):
                families[f.name] = {"type": f.type, "help": f.documentation,
                                    "samples": [[s.name, s.labels, s.value] for s in f.samples]}
            json.dump(families, open(sys.argv[2], "w"))
            """
        let log = w.dir.appendingPathComponent("parse.log").path
        var status: Int32 = 0
        waitpid(try spawn("/usr/bin/env", ["python3", "-c", script, file.path, out], stdout: log), &status, 0)
        #expect(status == 0, "prometheus_client could not parse /metrics: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let families = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: [String: Any]]) ?? [:]
        #expect(families.count > 30)
        for (name, f) in families {
            let help = f["help"] as? String ?? ""
            #expect(!help.isEmpty, "\(name) has no HELP")
            #expect(name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil, "\(name)")
            if name.hasPrefix("iw_") { #expect(help != name.replacingOccurrences(of: "_", with: " ") + ".", "\(name): no written HELP") }
        }
        // Counters end in _total in the text (the parser strips it from the family's name).
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") && line.hasSuffix(" counter") {
            #expect(line.split(separator: " ")[2].hasSuffix("_total"), "\(line)")
        }
        func samples(_ family: String) -> [(name: String, labels: [String: String], value: Double)] {
            ((families[family]?["samples"] as? [[Any]]) ?? []).map { ($0[0] as? String ?? "", $0[1] as? [String: String] ?? [:], $0[2] as? Double ?? .nan) }
        }
        #expect(samples("iw_build_info").contains { $0.labels["version"] == BuildInfo.version && $0.value == 1 })
        #expect(samples("iw_mqtt_connected").first?.value == 1)
        #expect(samples("process_resident_memory_bytes").first.map { $0.value > 1_000_000 } == true)
        #expect(samples("process_open_fds").first.map { $0.value > 3 } == true)
        #expect(samples("process_start_time_seconds").first.map { abs($0.value - Date().timeIntervalSince1970) < 3600 } == true)
        #expect(samples("process_cpu_seconds").first.map { $0.value > 0 } == true)
        let requests = samples("iw_http_requests")
        #expect(requests.contains { $0.labels["route"] == "/api/v1/alerts" && $0.labels["status"] == "200" && $0.value >= 4 }, "\(requests)")
        #expect(requests.contains { $0.labels["route"] == "/api/v1/alerts/{alert_id}" && $0.labels["status"] == "404" }, "\(requests)")
        // The Grafana dashboard in Config/ queries only families the daemon exports.
        let dashboard = try String(contentsOf: SharedData.repoRoot.appendingPathComponent("Config/grafana-dashboard.json"), encoding: .utf8)
        let queried = Set(dashboard.matches(of: /\b((?:iw|process)_[a-z_]+)/).map { String($0.1) })
        #expect(queried.count >= 15)
        let exported = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        for name in queried {
            let family = ["_bucket", "_count", "_sum"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
            #expect(exported.contains(family), "the dashboard queries \(name), which /metrics does not export")
        }
        let reloads = samples("iw_registry_reloads")
        #expect(reloads.contains { $0.labels["outcome"] == "ok" && $0.value >= 1 } && reloads.contains { $0.labels["outcome"] == "failed" && $0.value == 1 },
                "\(reloads)")
    }
}
