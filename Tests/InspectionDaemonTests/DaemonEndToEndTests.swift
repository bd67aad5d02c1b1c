import Foundation
import InspectionConfig
import InspectionCore
import InspectionFiles
import InspectionMQTT
import InspectionReplay
import InspectionStore
import InspectionTestSupport
import Testing

/// `inspection-watch serve` as a process, a real broker, a real SQLite file: what it stores must be
/// what `replay` computes from the same trace.
@Suite(.serialized) struct DaemonEndToEndTests {
    static var executable: String { SharedData.repoRoot.appendingPathComponent(".build/debug/inspection-watch").path }

    struct Fix { var vehicle: String; var ts: Int; var lat: Double; var lon: Double }

    /// The Aalto phones around Helsinki, renamed to JT/T 808 terminal numbers so one registry serves every format.
    static func trace() throws -> [Fix] {
        let text = try String(contentsOfFile: SharedData.path("traces/aalto-helsinki.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            return Fix(vehicle: "01390000000" + f[0].suffix(1), ts: Int(f[1])!, lat: Double(f[2])!, lon: Double(f[3])!)
        }
    }

    /// A work folder with the Helsinki registry, the trace as CSV and a configuration.
    struct Setup {
        let dir: URL
        let registry: URL
        let csv: URL
        let config: URL
        let store: String
        let fixes: [Fix]
        let httpPort: Int32

        /// `storeDir`: where the store and its journal go (a small file system of the test's own);
        /// `queueCapacity`: messages the ingest queue holds in memory (`store.queue_capacity`).
        init(brokerPort: Int32, format: PayloadFormat, storeDir: URL? = nil, queueCapacity: Int = 200_000) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString)")
            registry = dir.appendingPathComponent("registry")
            try FileManager.default.createDirectory(at: registry, withIntermediateDirectories: true)
            fixes = try DaemonEndToEndTests.trace()
            let vehicles = Set(fixes.map(\.vehicle)).sorted()
            try SharedData.writeRegistry(
                to: registry, sites: try SharedData.osmSites("osm/helsinki-polygons.geojson"),
                agencies: "agency_id,name,jurisdiction\nAMR,Market,helsinki_center\nENV,Environment,*\n",
                vehicles: "vehicle_id,agency_id,plate\n" + vehicles.enumerated().map { "\($1),\($0 % 2 == 0 ? "AMR" : "ENV"),\n" }.joined())
            csv = dir.appendingPathComponent("trace.csv")
            try Data(("vehicle_id,ts,lat,lon\n" + fixes.map { "\($0.vehicle),\($0.ts),\($0.lat),\($0.lon)\n" }.joined()).utf8).write(to: csv)
            store = (storeDir ?? dir).appendingPathComponent("store.sqlite").path
            httpPort = try TestBroker.freePort()
            config = dir.appendingPathComponent("config.yaml")
            try Data("""
                registry: { dir: \(registry.path) }
                mqtt:
                  port: \(brokerPort)
                  client_id: daemon-under-test
                  subscriptions:
                    - { filter: "\(format.defaultFilter)", format: \(format.rawValue) }
                store: { path: \(store), checkpoint_interval: 1s, queue_capacity: \(queueCapacity) }
                http: { port: \(httpPort) }
                """.utf8).write(to: config)
        }

        func startDaemon() throws -> pid_t {
            try spawn(DaemonEndToEndTests.executable, ["serve", "--config", config.path], stdout: dir.appendingPathComponent("daemon.log").path)
        }

        var log: String { (try? String(contentsOf: dir.appendingPathComponent("daemon.log"), encoding: .utf8)) ?? "" }
    }

    /// A tracker's message, as the simulator's publisher sends it.
    static func message(_ f: Fix, _ format: PayloadFormat) -> ([UInt8], [UInt8]) {
        var topic: [UInt8] = [], payload: [UInt8] = []
        PayloadEncoder.encode(format, vehicle: f.vehicle, ts: Millis(f.ts) * 1000, lat: f.lat, lon: f.lon, topic: &topic, payload: &payload)
        return (topic, payload)
    }

    /// Publishes `fixes` at QoS 1 and waits until the broker acknowledged all of them; at `rate`
    /// messages a second when given (a fleet's pace), else as fast as the connection takes them.
    static func publish(_ fixes: ArraySlice<Fix>, format: PayloadFormat, port: Int32, rate: Double? = nil,
                        configure: (inout MQTTSettings) -> Void = { _ in }) throws {
        let (client, acked) = try trackerGateway(port: port, configure: configure)
        let start = Date()
        for (i, f) in fixes.enumerated() {
            let (topic, payload) = message(f, format)
            try client.publish(topic: topic, payload: payload, qos: 1)
            if let rate, i % 50 == 49 {
                let due = start.addingTimeInterval(Double(i + 1) / rate).timeIntervalSinceNow
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
        }
        #expect(eventually(30) { acked.count == fixes.count })
        client.stop()
    }

    /// What replay says about the same trace.
    static func expected(_ setup: Setup) throws -> Replay.Summary {
        let registry = try RegistryDirectory.load(setup.registry.path, parser: RegistryParser())
        return try Replay.process(registry: registry, settings: EngineSettings(),
                                  inputs: [("trace.csv", Array(try Data(contentsOf: setup.csv)))])
    }

    static func waitProcessed(_ setup: Setup, count: Int) throws -> Store {
        let store = try Store(path: setup.store)
        #expect(eventually(30) { ((try? store.processedSeq()) ?? 0) >= Int64(count) },
                "daemon log:\n\(setup.log)")
        return store
    }

    static func compare(_ store: Store, with replay: Replay.Summary) throws {
        let stored = try store.visits()
        #expect(Set(stored.map(\.visitId)) == Set(replay.visits.map(\.visitId)))
        let replayed = Dictionary(uniqueKeysWithValues: replay.visits.map { ($0.visitId, $0) })
        for v in stored {
            #expect(v.start == replayed[v.visitId]?.start)
            if let end = v.end { #expect(end == replayed[v.visitId]?.end) }  // a stay still open live is closed by the end of a replay
        }
        #expect(try store.alertKeys().map(\.alertId) == replay.alerts.map(\.alertId))
        // Evidence: the positions that make each visit, from its first to its last (those of a
        // visit still open are written within 5 s: `EvidenceBuffer`).
        _ = eventually(10) { stored.allSatisfy { v in (try? store.evidence(visitId: v.visitId).count) == v.points } }
        for v in stored {
            let e = try store.evidence(visitId: v.visitId)
            #expect(e.count == v.points, "\(v.visitId)")
            #expect(e.first?.ts == v.start)
            if let end = v.end { #expect(e.last?.ts == end) }
        }
        #expect(try store.count("outbox") == replay.alerts.count)
    }

    static func terminate(_ pid: pid_t) -> Double {
        let start = Date()
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return Date().timeIntervalSince(start)
    }

    @Test(arguments: PayloadFormat.allCases)
    func eachFormatGivesWhatReplayGives(format: PayloadFormat) throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: format)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") }, "daemon log:\n\(setup.log)")
        try Self.publish(setup.fixes[...], format: format, port: broker.port)
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        let replay = try Self.expected(setup)
        #expect(replay.visits.count >= 5)
        try Self.compare(store, with: replay)
        #expect(eventually { (try? store.unpublished().isEmpty) ?? false })  // every alert reached the broker
        let seconds = Self.terminate(pid)
        #expect(seconds < 5)
        #expect(setup.log.contains("stopped"))
    }

    @Test(arguments: [SIGKILL, SIGTERM])
    func stoppedMidStreamAndRestartedLosesAndDoublesNothing(signal: Int32) throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: .native)
        var pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        let third = setup.fixes.count / 3
        try Self.publish(setup.fixes[..<third], format: .native, port: broker.port)
        let started = Date()
        kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        if signal == SIGTERM {
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(setup.log.contains("stopped"))
        }
        // published while the daemon is down: the broker keeps them for its session
        try Self.publish(setup.fixes[third..<(2 * third)], format: .native, port: broker.port)
        pid = try setup.startDaemon()
        try Self.publish(setup.fixes[(2 * third)...], format: .native, port: broker.port)
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        // A message journaled but not yet acknowledged when the process died comes again from the
        // broker (at least once: PUBACKs still in libmosquitto's send queue, up to about 1,000 seen);
        // the engine drops it as an exact duplicate.
        let journaled = try store.processedSeq()
        #expect(journaled >= Int64(setup.fixes.count) && journaled <= Int64(setup.fixes.count + 2000), "journal: \(journaled)")
        if signal == SIGTERM {
            // SIGTERM saved a checkpoint: the restart resumed from it (open stays included) and read
            // no journal before it.
            #expect(setup.log.contains("resumed from checkpoint"))
            #expect(!setup.log.contains("journal replayed"))
        }
        try Self.compare(store, with: try Self.expected(setup))
        #expect(Self.terminate(pid) < 5)
    }

    @Test func anImportedRegistryServesWithoutItsFilesAndItsTasksMatch() throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: .native)
        // A task covering the first visit replay finds: it must come from the store, not the files.
        let before = try Self.expected(setup)
        let v = try #require(before.visits.first)
        let day = Timestamp.formatDay(LocalCalendar.shanghai.day(of: v.start))
        try Data("""
            task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status
            T-IMPORTED,\(v.agencyId!),,\(v.enterpriseId),,special,\(day),\(day),,,
            """.utf8).write(to: setup.registry.appendingPathComponent("tasks.csv"))
        let replay = try Self.expected(setup)
        #expect(replay.visits.first?.taskId == "T-IMPORTED")

        let exe = Self.executable
        let log = setup.dir.appendingPathComponent("import.log").path
        let pid = try spawn(exe, ["import", "--registry", setup.registry.path, "--store", setup.store], stdout: log)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status == 0)
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("1 tasks into"))
        // Serve with no registry folder at all.
        try FileManager.default.removeItem(at: setup.registry)
        try Data("""
            mqtt:
              port: \(broker.port)
              client_id: daemon-under-test
            store: { path: \(setup.store) }
            """.utf8).write(to: setup.config)
        let daemon = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") }, "daemon log:\n\(setup.log)")
        try Self.publish(setup.fixes[...], format: .native, port: broker.port)
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        try Self.compare(store, with: replay)
        #expect(try store.visits().first { $0.visitId == v.visitId }?.taskId == "T-IMPORTED")
        #expect(Self.terminate(daemon) < 5)
    }

    /// A bad folder: every error in one run, each naming file, line and field; no store is left behind.
    @Test func importOfABadRegistryNamesEveryErrorAndLeavesNoFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        let registry = dir.appendingPathComponent("registry")
        try SharedData.writeRegistry(to: registry, sites: try SharedData.osmSites("osm/helsinki-polygons.geojson"),
                                     agencies: "agency_id,name,jurisdiction\nAMR,Market,*\n",
                                     vehicles: "vehicle_id,agency_id,plate\nV1,POLICE,\nV2,AMR,\nV3,ARMY,\n",
                                     tasks: "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\nT1,NOPE,,E1,,planned,2025-01-01,2025-01-02,,,\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("store.sqlite").path
        let log = dir.appendingPathComponent("import.log").path
        let pid = try spawn(Self.executable, ["import", "--registry", registry.path, "--store", store], stdout: log)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect((status >> 8) & 0xff == 2)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(out)")
        #expect(lines.contains { $0.contains("vehicles.csv line 2, field agency_id") && $0.contains("POLICE") }, "\(out)")
        #expect(lines.contains { $0.contains("vehicles.csv line 4, field agency_id") && $0.contains("ARMY") }, "\(out)")
        #expect(lines.contains { $0.contains("tasks.csv line 2, field agency_id") }, "\(out)")
        #expect(!FileManager.default.fileExists(atPath: store), "a failed import left a store behind")
    }

    /// A CA, and a broker certificate for 127.0.0.1 signed by it, made with openssl for the test.
    static func makeCertificates(in dir: URL) throws {
        let sh = """
            set -e
            cd '\(dir.path)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.crt -days 2 -subj /CN=other-ca 2>/dev/null
            mosquitto_passwd -c -b passwd daemon 's3cret-Pa55' && mosquitto_passwd -b passwd gateway gw-pass
            chmod 644 server.key passwd
            """
        #expect(try run("/bin/sh", ["-c", sh]) == 0)
    }

    @Test func overTLSWithAPasswordTheDaemonGetsEverythingAndAWrongPasswordIsRefusedWithoutShowingIt() throws {
        let certs = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: certs) }
        try Self.makeCertificates(in: certs)
        let broker = try TestBroker(extraConfig: """
            allow_anonymous false
            password_file \(certs.path)/passwd
            cafile \(certs.path)/ca.crt
            certfile \(certs.path)/server.crt
            keyfile \(certs.path)/server.key
            """)
        let setup = try Setup(brokerPort: broker.port, format: .native)
        func writeConfig(password: String, ca: String) throws {
            try Data("""
                registry: { dir: \(setup.registry.path) }
                mqtt:
                  host: 127.0.0.1
                  port: \(broker.port)
                  client_id: daemon-under-test
                  username: daemon
                  password: "\(password)"
                  ca_file: \(certs.path)/\(ca)
                  subscriptions:
                    - { filter: "vehicles/+/position", format: native }
                store: { path: \(setup.store) }
                http: { port: \(setup.httpPort) }
                """.utf8).write(to: setup.config)
        }
        // A wrong password: refused, said so with the broker's reason, the password nowhere.
        try writeConfig(password: "not-the-password", ca: "ca.crt")
        var pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connection refused") }, "daemon log:\n\(setup.log)")
        #expect(!setup.log.contains("not-the-password"))
        let metricsText = httpGet(port: setup.httpPort, "/metrics")?.body ?? ""
        #expect(!metricsText.contains("not-the-password"))
        #expect(Self.terminate(pid) < 5)
        // A CA that did not sign the broker's certificate: refused, said so, nothing connects.
        try writeConfig(password: "s3cret-Pa55", ca: "other-ca.crt")
        pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("certificate") }, "daemon log:\n\(setup.log)")
        Thread.sleep(forTimeInterval: 1)
        #expect(!setup.log.contains("mqtt connected"))
        #expect(!setup.log.contains("s3cret-Pa55"))
        #expect(Self.terminate(pid) < 5)
        // The right one: connected over TLS, and the trace gives what replay gives.
        try writeConfig(password: "s3cret-Pa55", ca: "ca.crt")
        pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") }, "daemon log:\n\(setup.log)")
        #expect(!setup.log.contains("s3cret-Pa55"))
        try Self.publish(setup.fixes[...], format: .native, port: broker.port) { s in
            s.username = "gateway"; s.password = "gw-pass"; s.tls = .init(caFile: certs.appendingPathComponent("ca.crt").path)
        }
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        try Self.compare(store, with: try Self.expected(setup))
        #expect(Self.terminate(pid) < 5)
    }

    @Test func recoversByItselfWhenTheBrokerRestartsMidStream() throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: .native)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        let half = setup.fixes.count / 2
        try Self.publish(setup.fixes[..<half], format: .native, port: broker.port)
        try broker.restart()
        #expect(eventually(20) { setup.log.components(separatedBy: "mqtt connected").count - 1 >= 2 }, "daemon log:\n\(setup.log)")
        try Self.publish(setup.fixes[half...], format: .native, port: broker.port)
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        try Self.compare(store, with: try Self.expected(setup))
        #expect(Self.terminate(pid) < 5)
    }

    @Test func badPayloadsAreDeadLetteredWhileGoodTrafficFlows() throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: .native)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        // every row of SPEC §3.3 that a payload can be, between good messages
        let bad: [(String, [UInt8])] = [
            ("vehicles/x/position", Array("not json".utf8)),
            ("vehicles/x/position", Array(#"{"vehicle":"x","lat":60.17,"lon":24.94}"#.utf8)),
            ("vehicles/x/position", Array(#"{"vehicle":"x","ts":"yesterday","lat":60.17,"lon":24.94}"#.utf8)),
            ("vehicles/x/position", Array(#"{"vehicle":"x","ts":1472191200,"lat":95,"lon":24.94}"#.utf8)),
            ("vehicles/x/position", Array(#"{"vehicle":"x","ts":1472191200,"lat":0,"lon":0}"#.utf8)),
            ("vehicles/x/position", Array(#"{"vehicle":"x","ts":4102444800,"lat":60.17,"lon":24.94}"#.utf8)),
            ("vehicles/x/position", [UInt8](repeating: 0x7b, count: 70_000)),
            ("vehicles/x/position", [0xff, 0xfe, 0x00, 0x01]),
        ]
        let (client, acked) = try trackerGateway(port: broker.port)
        var sent = 0
        for (i, f) in setup.fixes.enumerated() {
            let (topic, payload) = Self.message(f, .native)
            try client.publish(topic: topic, payload: payload)
            sent += 1
            if i % 500 == 0 {
                let b = bad[(i / 500) % bad.count]
                try client.publish(topic: b.0, payload: b.1)
                sent += 1
            }
        }
        for b in bad { try client.publish(topic: b.0, payload: b.1); sent += 1 }
        #expect(eventually(30) { acked.count == sent })
        let store = try Self.waitProcessed(setup, count: sent)
        #expect(try store.count("dead_letters") >= bad.count)
        // Said in the log, rate-limited (SPEC §3.3): a line for the first of each reason, not one
        // per payload.
        let said = setup.log.components(separatedBy: "\n").filter { $0.contains("payloads rejected") }
        #expect(said.contains { $0.contains("iw.reason=unparsable") } && said.contains { $0.contains("iw.reason=too_large") }, "\(setup.log)")
        #expect(said.count <= RejectReason.allCases.count * 2 && said.count < bad.count)
        // The same, as Prometheus reads it.
        let metrics = try #require(httpGet(port: setup.httpPort, "/metrics"))
        #expect(metrics.status == 200)
        func value(_ series: String, in body: String? = nil) -> Double? {
            (body ?? metrics.body).split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect(value("iw_messages_received_total") == Double(sent), "\(metrics.body)")
        #expect(value(#"iw_positions_rejected_total{reason="unparsable"}"#) ?? 0 > 0, "\(metrics.body)")
        #expect(value(#"iw_positions_rejected_total{reason="too_large"}"#) ?? 0 > 0)
        #expect(value(#"iw_positions_rejected_total{reason="zero_position"}"#) ?? 0 > 0)
        #expect(value("iw_visits_opened_total") ?? 0 > 0)
        #expect(metrics.body.contains("iw_ingest_queue_depth"))
        // Every alert raised by a message, timed from its receipt to its commit.
        let raised = try store.count("alerts")
        #expect(raised > 0)
        #expect(eventually(10) {
            value("iw_alert_delay_seconds_count", in: httpGet(port: setup.httpPort, "/metrics")?.body ?? "") == Double(raised)
        }, "\(metrics.body)")
        let health = try #require(httpGet(port: setup.httpPort, "/health"))
        #expect(health.status == 200 && health.body.contains(#""mqtt":"connected""#), "\(health.body)")
        try Self.compare(store, with: try Self.expected(setup))
        #expect(Self.terminate(pid) < 5)
        #expect(!setup.log.contains("Fatal"))
    }

    @Test func sighupReloadsTheRegistryAndNewTasksCoverLaterVisits() throws {
        let broker = try TestBroker()
        let setup = try Setup(brokerPort: broker.port, format: .native)
        let pid = try setup.startDaemon()
        #expect(eventually { setup.log.contains("mqtt connected") })
        let cut = setup.fixes.firstIndex { $0.ts >= 1_472_198_400 }!  // 08:00 UTC, before the station visit
        try Self.publish(setup.fixes[..<cut], format: .native, port: broker.port)
        _ = try Self.waitProcessed(setup, count: cut)
        // the environment agency registers a complaint inspection of the station for the day
        try Data(("task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
                  + "C-1,ENV,,E-way_122595198,,complaint,2016-08-26,2016-08-26,,,\n").utf8)
            .write(to: setup.registry.appendingPathComponent("tasks.csv"))
        kill(pid, SIGHUP)
        #expect(eventually { setup.log.contains("registry reloaded") }, "daemon log:\n\(setup.log)")
        try Self.publish(setup.fixes[cut...], format: .native, port: broker.port)
        let store = try Self.waitProcessed(setup, count: setup.fixes.count)
        let station = try store.visits().filter { $0.siteId == "way_122595198" }
        #expect(station.count == 1)
        #expect(station.first?.taskId == "C-1")
        #expect(try store.alertKeys().filter { $0.kind == "unregistered_visit" }.count
                == Self.expected(setup).alerts.filter { $0.kind == .unregisteredVisit }.count)  // replay reads the new tasks.csv too
        #expect(Self.terminate(pid) < 5)
    }
}
