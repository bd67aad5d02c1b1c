import Foundation
import InspectionConfig
import InspectionCore
import InspectionReplay
import Testing

/// `inspection-watch replay` end to end: files in, files out, exit codes.
@Suite struct ReplayCommandTests {
    static var sites: [String: Any] { [
        "type": "FeatureCollection",
        "features": [
            ["type": "Feature", "properties": ["site_id": "S1", "enterprise_id": "91310000MA1FL0001X", "region": "R1"],
             "geometry": ["type": "Polygon", "coordinates": [[[121.400, 31.200], [121.401, 31.200], [121.401, 31.201], [121.400, 31.201], [121.400, 31.200]]]]],
            ["type": "Feature", "properties": ["site_id": "S2", "enterprise_id": "91310000MA1FL0002Y", "region": "R9", "radius_m": 1],
             "geometry": ["type": "Point", "coordinates": [121.410, 31.200]]] as [String: Any],
        ],
    ] }

    /// Two vehicles' traces in CSV and NDJSON, each written out of order.
    static func traces(in dir: URL) -> [String] {
        var csv = ["vehicle_id,ts,lat,lon,speed_kmh"]
        var nd: [String] = []
        let t0 = 1_750_123_800  // 2025-06-17 09:30 +08:00
        for k in 0..<80 {  // 20 minutes at S1, every 15 s
            csv.append("amr-1,\(t0 + 15 * k),31.2005,121.4005,0")
            nd.append("{\"vehicle\":\"env-1\",\"ts\":\(t0 + 86_400 + 15 * k),\"lat\":31.2005,\"lon\":121.4005}")
        }
        csv.append("amr-1,not-a-time,31.2,121.4,")
        nd.append("{\"vehicle\":\"env-1\",\"ts\":1750123800,\"lat\":0,\"lon\":0}")
        nd.append("{broken")
        let csvURL = dir.appendingPathComponent("a.csv"), ndURL = dir.appendingPathComponent("b.ndjson")
        TestFiles.write(([csv[0]] + csv.dropFirst().reversed()).joined(separator: "\n") + "\n", to: csvURL)
        TestFiles.write(nd.reversed().joined(separator: "\n") + "\n", to: ndURL)
        return [csvURL.path, ndURL.path]
    }

    static func registry() -> RegistryFolder {
        RegistryFolder(sites: sites, agencies: "agency_id,name,jurisdiction\nAMR,Market,R1\nENV,Environment,*\n",
                       vehicles: "vehicle_id,agency_id,plate\namr-1,AMR,\nenv-1,ENV,\n")
    }

    @Test func writesSortedNDJSONAndASummary() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let out = dir.appendingPathComponent("out/nested")
        let summary = try Replay(registryDir: Self.registry().path, positionFiles: Self.traces(in: dir), outDir: out.path).run()
        #expect(summary.linesRead == 163)
        #expect(summary.accepted == 160)
        #expect(summary.rejected[.wrongType] == 1 && summary.rejected[.unparsable] == 1 && summary.rejected[.nullIsland] == 1)
        #expect(!summary.sortedInput)
        #expect(summary.skippedLines.count == 2)
        #expect(summary.skippedLines.contains { $0.hasSuffix("b.ndjson:1: unparsable: not a JSON object") })

        let visits = readNDJSON(out.appendingPathComponent("visits.ndjson"))
        #expect(visits.map { $0["vehicle_id"] as? String } == ["amr-1", "env-1"])
        #expect(visits[0]["start"] as? String == "2025-06-17T01:30:00Z")
        #expect(visits[0]["end"] as? String == "2025-06-17T01:49:45Z")
        #expect(visits[0]["duration_s"] as? Int == 1185)
        #expect(visits[0]["points"] as? Int == 80)
        #expect(visits[0]["task_id"] is NSNull)
        #expect(Set(visits[0].keys) == ["visit_id", "vehicle_id", "agency_id", "site_id", "enterprise_id", "start", "end",
                                        "duration_s", "points", "task_id", "occasion_id"])

        let alerts = readNDJSON(out.appendingPathComponent("alerts.ndjson"))
        #expect(alerts.compactMap { $0["kind"] as? String }.sorted() == ["multi_agency_inspection", "unregistered_visit", "unregistered_visit"])
        let keys = alerts.map { (rfc3339($0["at"])!, $0["alert_id"] as! String) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) })
        #expect(Set(alerts[0].keys) == ["alert_id", "kind", "severity", "at", "enterprise_id", "site_id", "agency_id",
                                        "vehicle_id", "visit_id", "task_id", "detail"])
    }

    @Test func theSameInputGivesByteIdenticalOutput() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let files = Self.traces(in: dir)
        let registry = Self.registry()
        var outputs: [Data] = []
        for (n, order) in [files, files.reversed()].enumerated() {
            let out = dir.appendingPathComponent("out\(n)")
            _ = try Replay(registryDir: registry.path, positionFiles: order, outDir: out.path).run()
            outputs.append(try Data(contentsOf: out.appendingPathComponent("visits.ndjson")))
            outputs.append(try Data(contentsOf: out.appendingPathComponent("alerts.ndjson")))
        }
        #expect(outputs[0] == outputs[2])
        #expect(outputs[1] == outputs[3])
        #expect(!outputs[1].isEmpty)
    }

    @Test func aMissingRegistryFileOrTraceStopsTheReplay() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let registry = Self.registry()
        try FileManager.default.removeItem(at: registry.url.appendingPathComponent("tasks.csv"))
        #expect(throws: Replay.Failure.self) {
            _ = try Replay(registryDir: registry.path, positionFiles: Self.traces(in: dir), outDir: dir.path).run()
        }
        #expect(throws: Replay.Failure.self) {
            _ = try Replay(registryDir: Self.registry().path, positionFiles: [dir.path + "/nope.csv"], outDir: dir.path).run()
        }
    }

    /// Issue 28 item 6: a registry file past 64 MB is refused before it is read, naming it.
    @Test func aRegistryFileTooLargeIsRefusedNamingIt() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let registry = Self.registry()
        let sites = registry.url.appendingPathComponent("sites.geojson")
        // Sparse: 65 MB on paper, nothing on the disk.
        #expect(truncate(sites.path, 65 << 20) == 0)
        do {
            _ = try Replay(registryDir: registry.path, positionFiles: Self.traces(in: dir), outDir: dir.path).run()
            Issue.record("a 65 MB sites.geojson was read")
        } catch {
            #expect(error.description == "registry: \(sites.path): 65 MB, over the 64 MB a registry file may have")
        }
    }

    // MARK: the executable

    static var executable: URL { TestFiles.repoRoot.appendingPathComponent(".build/debug/inspection-watch") }

    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test
    func theCommandPrintsASummaryAndExitsZero() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let r = try run(["replay", "--registry", Self.registry().path, "--positions"] + Self.traces(in: dir)
                        + ["--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 0)
        #expect(r.out.contains("positions read  163 from 2 file(s), reordered by time"))
        #expect(r.out.contains("rejected        3  (unparsable 1, wrong_type 1, zero_position 1)"))
        #expect(r.out.contains("visits          2"))
        #expect(r.out.contains("multi_agency_inspection   1"))
    }

    @Test
    func badFilesAreOneLineAndExitTwo() throws {
        let dir = TestFiles.temporaryFolder("traces")
        let missing = try run(["replay", "--registry", Self.registry().path, "--positions", dir.path + "/nope.csv", "--out", dir.path])
        #expect(missing.status == 2)
        #expect(missing.err.hasPrefix("inspection-watch: \(dir.path)/nope.csv: cannot read"))
        #expect(missing.err.split(separator: "\n").count == 1)
        let badRegistry = Self.registry()
        TestFiles.write("task_id,agency_id,enterprise_id,kind,start,end\nT1,AMR,E1,planned,someday,2025-01-01\n",
                        to: badRegistry.url.appendingPathComponent("tasks.csv"))
        let reg = try run(["replay", "--registry", badRegistry.path, "--positions"] + Self.traces(in: dir) + ["--out", dir.path])
        #expect(reg.status == 2)
        #expect(reg.err.contains("tasks.csv line 2, field start:"))
    }
}

@Suite struct ConfigurationTests {
    @Test func anEmptyFileIsSpecDefaults() throws {
        #expect(try Configuration.parse("") == Configuration())
        #expect(try Configuration.parse("# nothing\n") == Configuration())
    }

    @Test func theExampleConfigurationSaysExactlyTheDefaults() throws {
        let c = try Configuration.load(path: TestFiles.repoRoot.appendingPathComponent("Config/inspection-watch.yaml").path)
        var expected = Configuration()
        expected.registryDir = "/srv/inspection-watch/registry"
        #expect(c == expected)
    }

    @Test func everySettingIsRead() throws {
        let c = try Configuration.parse("""
        time_zone: Europe/Helsinki
        registry: { coordinates: GCJ02, bounds: [120.9, 29.9, 121.6, 30.5] }
        visits: { site_margin_m: 25.5, exit_grace: 90, max_gap: 1h, min_dwell: 4m }
        input: { max_speed_kmh: 150, reanchor_fixes: 4, max_future: 10m }
        rules:
          task_slack: 15m
          announce_lead: 2d
          repeat_window: 60d
          multi_agency_window: 14d
          multi_agency_threshold: 3
          annual_cap: 1
          reasonable_cap: 4
          class_caps: { A: 1, B: 2, "高": 0 }
          silent_gap: 45m
          silent_radius_m: 300
        kinds: { service: { counts_towards_cap: true } }
        severity: { tracker_silent: low }
        """)
        let e = c.engine
        #expect(e.calendar.identifier == "Europe/Helsinki" && c.coordinates == .gcj02)
        #expect(c.registryBounds == GeoBox(minLat: 29.9, minLon: 120.9, maxLat: 30.5, maxLon: 121.6))
        #expect(e.siteMarginM == 25.5 && e.exitGrace == 90_000 && e.maxGap == 3_600_000 && e.minDwell == 240_000)
        #expect(e.maxSpeedKmh == 150 && e.reanchorFixes == 4 && e.maxFuture == 600_000)
        #expect(e.taskSlack == 900_000 && e.announceLead == 172_800_000 && e.repeatWindow == 60 * 86_400_000)
        #expect(e.multiAgencyWindow == 14 * 86_400_000 && e.multiAgencyThreshold == 3 && e.annualCap == 1 && e.reasonableCap == 4)
        #expect(e.silentGap == 2_700_000 && e.silentRadiusM == 300)
        #expect(e.classCaps == ["A": 1, "B": 2, "高": 0] && e.annualCap(forClass: "C") == 1 && e.annualCap(forClass: "高") == 0)
        #expect(e.policy(.service) == KindPolicy(announcementRequired: false, countsTowardsCap: true))
        #expect(e.severity(.trackerSilent) == .low)
    }

    @Test func daemonSettingsAreRead() throws {
        let c = try Configuration.parse("""
        mqtt:
          host: broker.local
          port: 8883
          client_id: iw-1
          username: iw
          password: secret
          ca_file: /etc/iw/ca.crt
          alert_topic_prefix: city/alerts
          subscriptions:
            - { filter: "jt808/+/+/up", format: jt808 }
            - { filter: "owntracks/#" , format: owntracks }
            - { filter: "city/scans/#", format: scan }
        scans: { enabled: true }
        store: { path: /tmp/iw.sqlite }
        http:
          tiles: "https://tiles.city.local/{z}/{x}/{y}.png"
          idle_timeout: 5s
          max_connections: 50
          base_map: /srv/roads.geojson
          tokens:
            - { name: office, role: supervisor, token: 0123456789abcdef-office }
            - { name: market, role: agency, agency_id: AMR, token: 0123456789abcdef-market }
        """)
        let d = c.daemon
        #expect(d.apiTokens == [APIToken(name: "office", role: .supervisor, token: "0123456789abcdef-office"),
                                APIToken(name: "market", role: .agency, agencyId: "AMR", token: "0123456789abcdef-market")])
        #expect(d.tileURL == "https://tiles.city.local/{z}/{x}/{y}.png" && d.leafletDir == "/usr/share/javascript/leaflet")
        #expect(d.httpIdleTimeout == 5_000 && d.httpMaxConnections == 50 && d.baseMap == "/srv/roads.geojson")
        #expect(d.host == "broker.local" && d.port == 8883 && d.clientId == "iw-1" && d.username == "iw" && d.password == "secret")
        #expect(d.caFile == "/etc/iw/ca.crt" && d.alertTopicPrefix == "city/alerts" && d.storePath == "/tmp/iw.sqlite")
        #expect(d.subscriptions == [.init(filter: "jt808/+/+/up", format: .jt808), .init(filter: "owntracks/#", format: .owntracks),
                                    .scans(filter: "city/scans/#")])
        #expect(d.scansJudged && !DaemonSettings().scansJudged && DaemonSettings().subscriptions.last == .scans(filter: "scans/+"))
    }

    /// Secrets outside the configuration (issue 27 item 2): a file, a systemd credential, the environment.
    @Test func secretsComeFromFilesCredentialsOrTheEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("broker-secret-1\n".utf8).write(to: dir.appendingPathComponent("mqtt-password"))
        try Data("office-token-from-a-file-0001\n".utf8).write(to: dir.appendingPathComponent("office-token"))
        let byPath = try Configuration.parse("mqtt: { password_file: \(dir.path)/mqtt-password }\n")
        #expect(byPath.daemon.password == "broker-secret-1")
        let credentials = try Configuration.parse("""
            mqtt: { password_file: mqtt-password }
            http:
              tokens: [{ name: office, role: supervisor, token_file: office-token }]
            """, environment: ["CREDENTIALS_DIRECTORY": dir.path])
        #expect(credentials.daemon.password == "broker-secret-1")
        #expect(credentials.daemon.apiTokens.first?.token == "office-token-from-a-file-0001")
        #expect(try Configuration.parse("", environment: ["INSPECTIONWATCH_MQTT_PASSWORD": "from-env"]).daemon.password == "from-env")
        // Mistakes are named, and no message shows a secret.
        for (text, env, says) in [
            ("mqtt: { password_file: mqtt-password }\n", [String: String](), "$CREDENTIALS_DIRECTORY is not set"),
            ("mqtt: { password: inline, password_file: \(dir.path)/mqtt-password }\n", [:], "give password or password_file, not both"),
            ("mqtt: { password_file: \(dir.path)/missing }\n", [:], "cannot be read"),
        ] {
            do {
                _ = try Configuration.parse(text, environment: env)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(says) && error.description.contains("mqtt.password_file"), "\(error)")
                #expect(!error.description.contains("broker-secret-1"))
            }
        }
    }

    @Test(arguments: [
        ("mqtt:\n  subscriptions:\n    - { filter: a/+, format: xml }\n", "config:3: mqtt.subscriptions[0].format: \"xml\" is not one of native, owntracks, jt808, scan"),
        ("mqtt:\n  port: 70000\n", "config:2: mqtt.port: 70000 is out of range (1…65535)"),
        ("mqtt:\n  cert_file: /a.crt\n", "config:2: mqtt.key_file: cert_file and key_file go together"),
        ("visits:\n  exit_grce: 120s\n", "config:2: visits.exit_grce: unknown setting"),
        ("rules:\n  repeat_window: 30 days\n", "config:2: rules.repeat_window: \"30 days\" is not a duration (seconds, or e.g. 500ms, 120s, 30m, 2h, 7d)"),
        ("rules:\n  annual_cap: -1\n", "config:2: rules.annual_cap: -1 is out of range (0…)"),
        ("rules:\n  class_caps: { A: -1 }\n", "config:2: rules.class_caps.A: -1 is out of range (0…)"),
        ("rules:\n  class_caps: 3\n", "config:2: rules.class_caps: must be a mapping of settings"),
        ("http:\n  idle_timeout: 100ms\n", "config:2: http.idle_timeout: at least 1s"),
        ("time_zone: Mars/Olympus\n", "config:1: time_zone: \"Mars/Olympus\" is not a known time zone (e.g. Asia/Shanghai)"),
        ("kinds:\n  inspection: {}\n", "config:2: kinds.inspection: unknown setting"),
        ("severity:\n  tracker_silent: loud\n", "config:2: severity.tracker_silent: \"loud\" is not one of low, medium, high, critical"),
        ("registry:\n  coordinates: utm\n", "config:2: registry.coordinates: \"utm\" is not one of wgs84, gcj02, bd09"),
        ("visits: 3\n", "config:1: visits: must be a mapping of settings"),
        ("registry:\n  bounds: [30.5, 121.6, 29.9, 120.9]\n", "config:2: registry.bounds: must be [min_lon, min_lat, max_lon, max_lat] (WGS 84, as a GeoJSON bbox), each min below its max"),
        ("registry:\n  bounds: [120.9, 29.9, 121.6]\n", "config:2: registry.bounds: must be [min_lon, min_lat, max_lon, max_lat] (WGS 84, as a GeoJSON bbox), each min below its max"),
        ("registry:\n  bounds: [a, 29.9, 121.6, 30.5]\n", "config:2: registry.bounds: \"a\" is not a number"),
        ("http:\n  tokens:\n    - { name: a, role: admin, token: 0123456789abcdef }\n", "config:3: http.tokens[0].role: \"admin\" is not one of supervisor, agency, readonly"),
        ("http:\n  tokens:\n    - { name: a, role: readonly, token: short }\n", "config:3: http.tokens[0].token: required, at least 16 characters"),
        ("http:\n  tokens:\n    - { name: a, role: agency, token: 0123456789abcdef }\n", "config:3: http.tokens[0].agency_id: required for role agency"),
        ("http:\n  tokens:\n    - { name: a, role: readonly, token: 0123456789abcdef }\n    - { name: b, role: supervisor, token: 0123456789abcdef }\n", "config:4: http.tokens[1].token: the same token is given twice"),
        ("visits:\n  max_gap: 1e300d\n", "config:2: visits.max_gap: \"1e300d\" is not a duration (seconds, or e.g. 500ms, 120s, 30m, 2h, 7d)"),
    ])
    func errorsNameTheSettingAndLine(text: String, message: String) {
        do {
            _ = try Configuration.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description == message)
        }
    }
}
