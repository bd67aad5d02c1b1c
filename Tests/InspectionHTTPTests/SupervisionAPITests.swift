import Foundation
import InspectionCore
import InspectionStore
import InspectionMQTT
import InspectionTestSupport
import Testing

/// The supervision API against `inspection-watch serve` as a process, a real broker and a real
/// SQLite file: every route, role and error, and a task registered late re-matching a visit.
@Suite(.serialized) struct SupervisionAPITests {

    static func field(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["field"] as? String }
    static func alerts(_ json: [String: Any]) -> [[String: Any]] { json["alerts"] as? [[String: Any]] ?? [] }

    @Test func everyRouteRoleAndError() throws {
        let w = try APIWorld()
        try w.publishStays()
        // The unregistered visit of V1 at S1 (A1): one alert; V2's visit is covered and announced.
        #expect(eventually(20) { Self.alerts(w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json).count == 1 })
        let list = w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor)
        let alert = try #require(Self.alerts(list.json).first)
        let alertId = try #require(alert["alert_id"] as? String)
        #expect(alert["kind"] as? String == "unregistered_visit")
        #expect(alert["status"] as? String == "open")
        #expect(alert["agency_id"] as? String == "A1")
        #expect(list.json["total"] as? Int == 1)

        // 401: no token, an unknown one, a malformed header. /health and the page need none.
        #expect(w.call("GET", "/api/v1/alerts", token: nil).status == 401)
        #expect(w.call("GET", "/api/v1/alerts", token: "not-a-token-at-all-000").status == 401)
        #expect(httpGet(port: w.httpPort, "/health")?.status == 200)
        #expect(httpGet(port: w.httpPort, "/")?.body.contains("InspectionWatch") == true)
        #expect(httpGet(port: w.httpPort, "/api/v1/openapi.yaml")?.body.hasPrefix("openapi: 3") == true)
        #expect(w.call("GET", "/api/v1/me", token: APIWorld.agencyA1).json["agency_id"] as? String == "A1")

        // Filters, and 400 naming the parameter.
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts?kind=tracker_silent", token: APIWorld.supervisor).json).isEmpty)
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts?kind=unregistered_visit&enterprise_id=E1&status=open", token: APIWorld.supervisor).json).count == 1)
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts?from=2026-03-11", token: APIWorld.supervisor).json).isEmpty)
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts?from=2026-03-10&to=2026-03-10", token: APIWorld.supervisor).json).count == 1)
        let badKind = w.call("GET", "/api/v1/alerts?kind=speeding", token: APIWorld.supervisor)
        #expect(badKind.status == 400 && Self.field(badKind.json) == "kind")
        let badTime = w.call("GET", "/api/v1/visits?from=yesterday", token: APIWorld.supervisor)
        #expect(badTime.status == 400 && Self.field(badTime.json) == "from")
        let badLimit = w.call("GET", "/api/v1/alerts?limit=0", token: APIWorld.supervisor)
        #expect(badLimit.status == 400 && Self.field(badLimit.json) == "limit")

        // Roles: an agency sees only its own; asking for another's is 403.
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts", token: APIWorld.agencyA1).json).count == 1)
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts", token: APIWorld.agencyA2).json).isEmpty)
        #expect(w.call("GET", "/api/v1/alerts?agency_id=A1", token: APIWorld.agencyA2).status == 403)
        #expect(w.call("GET", "/api/v1/alerts/\(alertId)", token: APIWorld.agencyA2).status == 403)
        #expect(w.call("GET", "/api/v1/alerts/a-nothing", token: APIWorld.supervisor).status == 404)
        let visitsA2 = w.call("GET", "/api/v1/visits", token: APIWorld.agencyA2).json["visits"] as? [[String: Any]] ?? []
        #expect(visitsA2.count == 1 && visitsA2.first?["task_id"] as? String == "T-FILE-1")
        #expect((w.call("GET", "/api/v1/visits", token: APIWorld.readonly).json["visits"] as? [Any])?.count == 2)

        // Detail: the visit with its track (the positions that make it) and the site's outline.
        let detail = w.call("GET", "/api/v1/alerts/\(alertId)", token: APIWorld.readonly)
        #expect(detail.status == 200)
        let visit = try #require(detail.json["visit"] as? [String: Any])
        let track = visit["track"] as? [Any] ?? []
        #expect(track.count == visit["points"] as? Int && track.count >= 10)
        let site = try #require(detail.json["site"] as? [String: Any])
        #expect(site["name"] as? String == "Plant one")
        #expect(((site["outline"] as? [String: Any])?["circle"] as? [String: Any])?["radius_m"] as? Double == 60)
        let visitId = try #require(visit["visit_id"] as? String)
        #expect(w.call("GET", "/api/v1/visits/\(visitId)", token: APIWorld.agencyA1).status == 200)
        #expect(w.call("GET", "/api/v1/visits/\(visitId)", token: APIWorld.agencyA2).status == 403)
        #expect(w.call("GET", "/api/v1/visits/v-nothing", token: APIWorld.supervisor).status == 404)

        // The live stream: a status change arrives as an event.
        let stream = liveStream(port: w.httpPort, token: APIWorld.supervisor)
        #expect(eventually { stream.text.contains(": live alerts") })

        // Acknowledge, resolve: roles, body errors, conflicts, history with who and why.
        #expect(w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.readonly, "{}").status == 403)
        #expect(w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.agencyA1, "{}").status == 403)
        let notJSON = w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.supervisor, "{note")
        #expect(notJSON.status == 400 && Self.field(notJSON.json) == "body")
        let unknownField = w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.supervisor, #"{"comment": "x"}"#)
        #expect(unknownField.status == 400 && Self.field(unknownField.json) == "comment")
        let ack = w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.supervisor, #"{"note": "calling the bureau"}"#)
        #expect(ack.status == 200 && ack.json["status"] as? String == "acknowledged")
        #expect(w.call("POST", "/api/v1/alerts/\(alertId)/acknowledge", token: APIWorld.supervisor, "{}").status == 409)
        #expect(eventually { stream.text.contains("event: status") && stream.text.contains("\"acknowledged\"") })
        let noReason = w.call("POST", "/api/v1/alerts/\(alertId)/resolve", token: APIWorld.supervisor, "{}")
        #expect(noReason.status == 400 && Self.field(noReason.json) == "reason")
        #expect(w.call("POST", "/api/v1/alerts/a-nothing/resolve", token: APIWorld.supervisor, #"{"reason": "x"}"#).status == 404)
        let history = w.call("GET", "/api/v1/alerts/\(alertId)/history", token: APIWorld.supervisor).json["history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["status"] as? String } == ["open", "acknowledged"])
        #expect(history.last?["actor"] as? String == "office" && history.last?["note"] as? String == "calling the bureau")

        // Tasks: validated like the file, 400 naming the field; roles; 409 on a duplicate id.
        let late = #"{"task_id": "T-LATE-1", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10"}"#
        #expect(w.call("POST", "/api/v1/tasks", token: APIWorld.readonly, late).status == 403)
        #expect(w.call("POST", "/api/v1/tasks", token: APIWorld.agencyA2,
                       #"{"task_id": "T-X", "agency_id": "A1", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10"}"#).status == 403)
        for (body, field) in [
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "inspection", "start": "2026-03-10", "end": "2026-03-10"}"#, "kind"),
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "planned", "start": "10/03/2026", "end": "2026-03-10"}"#, "start"),
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-09"}"#, "end"),
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10", "partner_agency_ids": ["ZZ"]}"#, "partner_agency_ids"),
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10", "cross_region": "yes"}"#, "cross_region"),
            (#"{"task_id": "T-X", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10", "colour": "red"}"#, "colour"),
            (#"{"enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10"}"#, "task_id"),
            (#"["T-X"]"#, "body"),
        ] {
            let r = w.call("POST", "/api/v1/tasks", token: APIWorld.agencyA1, body)
            #expect(r.status == 400 && Self.field(r.json) == field, "\(body) → \(r.status) \(r.json)")
        }
        let unknownAgency = w.call("POST", "/api/v1/tasks", token: APIWorld.supervisor,
                                   #"{"task_id": "T-X", "agency_id": "A9", "enterprise_id": "E1", "kind": "planned", "start": "2026-03-10", "end": "2026-03-10"}"#)
        #expect(unknownAgency.status == 400 && Self.field(unknownAgency.json) == "agency_id")

        // A task registered late (by the agency, without announcement) covers the visit: the
        // unregistered alert is withdrawn, an unannounced one raised, the visit takes the task.
        let created = w.call("POST", "/api/v1/tasks", token: APIWorld.agencyA1, late)
        #expect(created.status == 201, "\(created.json)")
        let task = created.json["task"] as? [String: Any] ?? [:]
        #expect(task["agency_id"] as? String == "A1" && task["updated_by"] as? String == "market-bureau" && task["source"] as? String == "api")
        let rematch = created.json["rematch"] as? [String: Any] ?? [:]
        #expect(rematch["alerts_withdrawn"] as? [String] == [alertId])
        #expect((rematch["alerts_raised"] as? [String])?.count == 1)
        #expect(w.call("POST", "/api/v1/tasks", token: APIWorld.agencyA1, late).status == 409)
        #expect(w.call("GET", "/api/v1/alerts/\(alertId)", token: APIWorld.supervisor).json["alert"].flatMap { ($0 as? [String: Any])?["status"] as? String } == "withdrawn")
        let unannounced = Self.alerts(w.call("GET", "/api/v1/alerts?status=open", token: APIWorld.supervisor).json)
        #expect(unannounced.map { $0["kind"] as? String } == ["unannounced_visit"])
        #expect(unannounced.first?["task_id"] as? String == "T-LATE-1")
        #expect(w.call("GET", "/api/v1/visits/\(visitId)", token: APIWorld.supervisor).json["visit"].flatMap { ($0 as? [String: Any])?["task_id"] as? String } == "T-LATE-1")
        #expect(eventually { stream.text.contains("event: alert") && stream.text.contains("unannounced_visit") })

        // Amended: announced three days before, the unannounced alert is withdrawn.
        #expect(w.call("PATCH", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA2, #"{"announced_at": "2026-03-07T09:00:00+08:00"}"#).status == 403)
        #expect(w.call("PATCH", "/api/v1/tasks/T-NONE", token: APIWorld.supervisor, #"{"announced_at": "2026-03-07T09:00:00+08:00"}"#).status == 404)
        let rename = w.call("PATCH", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA1, #"{"task_id": "T-OTHER"}"#)
        #expect(rename.status == 400 && Self.field(rename.json) == "task_id")
        let badAnnounce = w.call("PATCH", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA1, #"{"announced_at": "2026-03-07"}"#)
        #expect(badAnnounce.status == 400 && Self.field(badAnnounce.json) == "announced_at")
        let amended = w.call("PATCH", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA1, #"{"announced_at": "2026-03-07T09:00:00+08:00"}"#)
        #expect(amended.status == 200)
        #expect(((amended.json["rematch"] as? [String: Any])?["alerts_withdrawn"] as? [String])?.count == 1)
        #expect(Self.alerts(w.call("GET", "/api/v1/alerts?status=open", token: APIWorld.supervisor).json).isEmpty)

        // Statistics for that day: two visits, two occasions, both covered; A1's covered by its task.
        let stats = w.call("GET", "/api/v1/stats?from=2026-03-10&to=2026-03-10", token: APIWorld.readonly)
        let rows = stats.json["rows"] as? [[String: Any]] ?? []
        #expect(rows.first?["agency_id"] is NSNull && rows.first?["visits"] as? Int == 2 && rows.first?["planned_share"] as? Double == 1)
        #expect(rows.map { $0["agency_id"] as? String } == [nil, "A1", "A2"])
        let own = w.call("GET", "/api/v1/stats?from=2026-03-10&to=2026-03-10", token: APIWorld.agencyA2).json["rows"] as? [[String: Any]] ?? []
        #expect(own.map { $0["agency_id"] as? String } == ["A2"])
        #expect(w.call("GET", "/api/v1/stats?from=2026-03-10&to=2026-03-01", token: APIWorld.supervisor).status == 400)
        // `inspection-watch stats` reads the same figures from the store.
        let statsOut = w.dir.appendingPathComponent("stats.txt").path
        let statsPid = try spawn(APIWorld.executable, ["stats", "--store", w.dir.appendingPathComponent("store.sqlite").path,
                                                       "--from", "2026-03-10", "--to", "2026-03-10"], stdout: statsOut)
        var statsStatus: Int32 = 0
        waitpid(statsPid, &statsStatus, 0)
        let statsLines = (try String(contentsOfFile: statsOut, encoding: .utf8)).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(statsStatus == 0)
        // The period as the office gave it, in local time (issue 27 item 7).
        #expect((try String(contentsOfFile: statsOut, encoding: .utf8)).hasPrefix("2026-03-10 00:00:00 … 2026-03-11 00:00:00 Asia/Shanghai"))
        #expect(statsLines.first { $0.first == "all" }.map { Array($0.prefix(4)) } == ["all", "2", "2", "100.0"])
        #expect(statsLines.first { $0.first == "A1" }.map { Array($0.prefix(4)) } == ["A1", "1", "1", "100.0"])

        // Cancelled: the visit is unregistered again; the withdrawn alert reopens.
        #expect(w.call("DELETE", "/api/v1/tasks/T-LATE-1", token: APIWorld.readonly).status == 403)
        let cancelled = w.call("DELETE", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA1)
        #expect(cancelled.status == 200 && (cancelled.json["task"] as? [String: Any])?["status"] as? String == "cancelled")
        #expect(((cancelled.json["rematch"] as? [String: Any])?["alerts_reopened"] as? [String]) == [alertId])
        let reopened = w.call("GET", "/api/v1/alerts/\(alertId)/history", token: APIWorld.supervisor).json
        #expect(reopened["status"] as? String == "open")
        #expect((reopened["history"] as? [[String: Any]])?.map { $0["status"] as? String } == ["open", "acknowledged", "withdrawn", "open"])
        #expect((w.call("GET", "/api/v1/tasks?agency_id=A1", token: APIWorld.agencyA1).json["tasks"] as? [Any])?.count == 1)
        #expect((w.call("GET", "/api/v1/tasks", token: APIWorld.agencyA2).json["tasks"] as? [[String: Any]])?.map { $0["task_id"] as? String } == ["T-FILE-1"])
        #expect(w.call("GET", "/api/v1/tasks/T-LATE-1", token: APIWorld.agencyA2).status == 403)
        #expect(w.call("GET", "/api/v1/tasks/T-NONE", token: APIWorld.supervisor).status == 404)

        // Registry reload: supervisor only; a complaint task in the file covers the visit again.
        #expect(w.call("POST", "/api/v1/registry/reload", token: APIWorld.agencyA1).status == 403)
        try Data((APIWorld.tasksHeader + APIWorld.fileTask + "T-FILE-2,A1,,E1,S1,complaint,2026-03-10,2026-03-10,,,\n").utf8)
            .write(to: w.registry.appendingPathComponent("tasks.csv"))
        let reload = w.call("POST", "/api/v1/registry/reload", token: APIWorld.supervisor)
        #expect(reload.status == 200 && (reload.json["registry"] as? [String: Any])?["tasks"] as? Int == 3)
        #expect(((reload.json["rematch"] as? [String: Any])?["alerts_withdrawn"] as? [String]) == [alertId])
        try Data("task_id,agency_id\nT-BAD,A1\n".utf8).write(to: w.registry.appendingPathComponent("tasks.csv"))
        let broken = w.call("POST", "/api/v1/registry/reload", token: APIWorld.supervisor)
        #expect(broken.status == 422 && ((broken.json["error"] as? [String: Any])?["message"] as? String ?? "").contains("tasks.csv"))

        // A restart keeps tasks registered through the API and every alert's status; a task gone
        // from the file while the daemon was down is matched again at start: the alert reopens.
        stream.stop()
        w.stop()
        try Data((APIWorld.tasksHeader + APIWorld.fileTask).utf8).write(to: w.registry.appendingPathComponent("tasks.csv"))
        try w.start()
        #expect((w.call("GET", "/api/v1/tasks/T-LATE-1", token: APIWorld.supervisor).json["status"] as? String) == "cancelled")
        #expect(w.call("GET", "/api/v1/tasks/T-FILE-2", token: APIWorld.supervisor).status == 404)
        let afterRestart = w.call("GET", "/api/v1/alerts/\(alertId)/history", token: APIWorld.supervisor).json
        #expect(afterRestart["status"] as? String == "open")
        #expect((afterRestart["history"] as? [[String: Any]])?.last?["note"] as? String == "tasks changed in registry.dir")
        #expect(w.call("GET", "/api/v1/alerts/\(alertId)", token: APIWorld.supervisor).status == 200)
    }
}

/// SIGTERM while the office watches: the live stream and an idle keep-alive connection are closed
/// by the server, the process exits within 5 s, and everything received is in the store.
@Suite struct ShutdownTests {
    @Test func sigtermEndsTheLiveStreamAndConnectionsAndLosesNothing() throws {
        let w = try APIWorld()
        let stream = liveStream(port: w.httpPort, token: APIWorld.supervisor)
        #expect(eventually(5) { stream.text.contains(": live alerts") })
        // A keep-alive connection that was answered and stays open.
        let idle = keepAliveConnection(port: w.httpPort, token: APIWorld.supervisor)
        #expect(eventually(5) { idle.text.contains("HTTP/1.1 200") })
        try w.publishStays()
        #expect(eventually(10) { stream.text.contains("event: alert") })  // the stream is live
        #expect(!stream.closed && !idle.closed)

        let began = Date()
        kill(w.pid, SIGTERM)
        var status: Int32 = 0
        waitpid(w.pid, &status, 0)
        let took = Date().timeIntervalSince(began)
        #expect(took < 5, "stopped in \(took) s")
        #expect(status == 0)
        #expect(eventually(2) { stream.closed && idle.closed })
        // Cleanly: the stream's last chunk was sent (not a connection cut mid-stream).
        #expect(stream.text.hasSuffix("0\r\n\r\n"), "stream ended with: \(stream.text.suffix(80).debugDescription)")
        // Nothing lost: both stays are visits in the store, every message processed.
        let store = try Store(path: w.dir.appendingPathComponent("store.sqlite").path, readOnly: true)
        #expect(try store.visits().count == 2)
        #expect(try store.processedSeq() == 46)
    }
}

/// systemd's side of sd_notify: a datagram socket the daemon is pointed at (`NOTIFY_SOCKET`),
/// every message it sends kept in order.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var got: [String] = []
    private var closed = false

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw NSError(domain: "bind", code: Int(errno)) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !lock.withLock({ closed }) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { let m = String(decoding: buffer[0..<n], as: UTF8.self); lock.withLock { got.append(m) } }
            }
        }
        t.start()
    }

    var messages: [String] { lock.withLock { got } }

    /// The index of the first message with this line, if any.
    func first(_ line: String) -> Int? { messages.firstIndex { $0.split(separator: "\n").contains(Substring(line)) } }

    deinit {
        lock.withLock { closed = true }
        Thread.sleep(forTimeInterval: 0.3)
        close(fd)
        unlink(path)
    }
}

/// The notifications ride on the lifecycle: READY once ingest and the engine run (with a STATUS
/// line), WATCHDOG while the engine's loop beats, STOPPING when SIGTERM begins the stop — before
/// anything is stopped, and the last thing said.
@Suite struct SystemdNotificationTests {
    @Test func readyWatchdogStatusAndStoppingReachSystemd() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
        let notify = try NotifySocket(path: path)
        let w = try APIWorld(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"])
        #expect(eventually(10) { notify.first("READY=1") != nil })
        let ready = notify.messages[notify.first("READY=1") ?? 0]
        #expect(ready.contains("STATUS=MQTT") && ready.contains("待处理消息"), "\(ready)")
        // Half the watchdog's second: fed several times in 3 s.
        #expect(eventually(10) { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= 3 })
        try w.publishStays()
        let storePath = w.dir.appendingPathComponent("store.sqlite").path
        #expect(eventually(20) { (try? Store(path: storePath, readOnly: true).processedSeq()) == 46 })  // all received
        kill(w.pid, SIGTERM)
        var status: Int32 = 0
        waitpid(w.pid, &status, 0)
        #expect(status == 0)
        #expect(eventually(2) { notify.first("STOPPING=1") != nil })
        let stopping = notify.first("STOPPING=1") ?? -1
        #expect(stopping == notify.messages.count - 1, "after STOPPING: \(notify.messages.suffix(3))")
        #expect(notify.first("READY=1")! < stopping)
        // The stop lost nothing: the stays are visits.
        let store = try Store(path: w.dir.appendingPathComponent("store.sqlite").path, readOnly: true)
        #expect(try store.visits().count == 2)
    }
}

/// A raw HTTP connection: one request written, everything the server sends read on a thread of
/// its own (`text`), until the server closes it (`closed`).
final class RawConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var received = ""
    private var ended = false
    private let fd: Int32

    init(port: Int32, request: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        Thread.detachNewThread { [weak self] in
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { self?.lock.withLock { self?.ended = true }; return }
                guard let self else { return }
                self.lock.withLock { self.received += String(decoding: chunk[..<n], as: UTF8.self) }
            }
        }
    }

    var text: String { lock.withLock { received } }
    /// The server closed the connection.
    var closed: Bool { lock.withLock { ended } }
    func stop() { shutdown(fd, Int32(SHUT_RDWR)) }
    deinit { close(fd) }
}

/// A Server-Sent Events connection: the live stream, read as it comes.
func liveStream(port: Int32, token: String) -> RawConnection {
    RawConnection(port: port, request: "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n")
}

/// A keep-alive connection: one request, its answer, then open until the server closes it.
func keepAliveConnection(port: Int32, token: String) -> RawConnection {
    RawConnection(port: port,
                  request: "GET /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: Bearer \(token)\r\n\r\n")
}
