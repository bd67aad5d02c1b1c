import Foundation
import Hummingbird
import InspectionCore
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// `/metrics` as Prometheus and the office's IT expect it (issue 27 item 6): the registry's text
/// with a `# HELP` line before each family's `# TYPE`, and the process's own `process_*` families
/// (resident memory, open files, start time, CPU) read from /proc at each scrape.
enum MetricsText {
    /// What each family means. A family missing here still gets a HELP line (from its name), and
    /// a test fails for any `iw_` family missing here.
    static let help: [String: String] = [
        "iw_build_info": "The running build; its version in the label, always 1.",
        "iw_mqtt_connected": "1 while the daemon is connected to the broker.",
        "iw_messages_received_total": "MQTT messages received (positions, batches, scans), journaled before the acknowledgement.",
        "iw_positions_accepted_total": "Positions that passed the input checks and reached visit detection.",
        "iw_positions_rejected_total": "Positions rejected, by reason (SPEC 3.3).",
        "iw_visits_opened_total": "Visits opened (a stay reached min_dwell).",
        "iw_visits_closed_total": "Visits closed.",
        "iw_visits_superseded_total": "Visits replaced after late positions changed them.",
        "iw_alerts_total": "Alerts raised, by kind.",
        "iw_alerts_withdrawn_total": "Alerts withdrawn, by reason (late positions, task change, scans).",
        "iw_late_positions_total": "Late positions, by outcome (reconciled within late_horizon, too old).",
        "iw_late_position_lateness_seconds": "How late reconciled late positions were.",
        "iw_scans_received_total": "Code scans received, by source (mqtt, api).",
        "iw_scans_ignored_total": "Code scans ignored as duplicates or conflicts.",
        "iw_registry_dir_valid": "0 while registry.dir does not validate and the store's registry is served.",
        "iw_registry_reloads_total": "Registry reloads (SIGHUP, API), by outcome.",
        "iw_ingest_queue_depth": "Messages journaled and waiting for the engine.",
        "iw_ingest_spilled_total": "Messages the full ingest queue left in the journal, read back later.",
        "iw_store_writer_batches": "Batches waiting for the store's writer.",
        "iw_store_writer_full_total": "Times the engine waited for a full store writer.",
        "iw_store_commits_total": "Store transactions committed.",
        "iw_lag_seconds": "Receive-to-processing delay of the latest batch.",
        "iw_outbox_unpublished": "Alerts in the outbox not yet acknowledged by the broker.",
        "iw_journal_segments": "Journal segment files on disk.",
        "iw_checkpoint_seq": "Journal sequence number of the latest engine checkpoint.",
        "iw_checkpoint_seconds": "Time to encode and save an engine checkpoint.",
        "iw_checkpoint_bytes": "Size of the latest engine checkpoint.",
        "iw_alert_delay_seconds": "From a message's receipt to its alert committed.",
        "iw_wal_checkpoints_total": "SQLite WAL checkpoints run.",
        "iw_wal_checkpoint_failures_total": "SQLite WAL checkpoints that failed.",
        "iw_wal_full_checkpoints_total": "SQLite WAL checkpoints that had to wait for readers (FULL).",
        "iw_wal_pages": "Pages in the SQLite WAL.",
        "iw_trackers": "Trackers with state in the engine, registered or not.",
        "iw_unknown_trackers_forgotten_total": "Trackers no vehicle names, forgotten after a quiet late_horizon.",
        "iw_sites_outside_fleet_area": "Sites over 50 km from every registered vehicle's newest position.",
        "iw_http_requests_total": "HTTP requests answered, by route, method and status.",
        "iw_http_request_duration_seconds": "Time to answer an HTTP request, by route.",
        "process_resident_memory_bytes": "Resident memory size in bytes.",
        "process_virtual_memory_bytes": "Virtual memory size in bytes.",
        "process_open_fds": "Number of open file descriptors.",
        "process_max_fds": "Maximum number of open file descriptors.",
        "process_start_time_seconds": "Start time of the process since the Unix epoch in seconds.",
        "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
    ]

    /// The registry's text with HELP lines, then the process's families.
    static func render(_ registry: PrometheusCollectorRegistry) -> [UInt8] {
        var raw: [UInt8] = []
        registry.emit(into: &raw)
        var out = ""
        out.reserveCapacity(raw.count + 4096)
        for line in String(decoding: raw, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).split(separator: " ").first.map(String.init) ?? ""
                out += "# HELP \(name) \(help[name] ?? fallback(name))\n"
            }
            if !line.isEmpty { out += line + "\n" }
        }
        out += process()
        return Array(out.utf8)
    }

    static func fallback(_ name: String) -> String { name.replacingOccurrences(of: "_", with: " ") + "." }

    static let started: Double = {
        // The process's start time: its age in clock ticks from /proc/self/stat, against boot time.
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return Date().timeIntervalSince1970 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 19, let startTicks = Double(fields[19]), ticks > 0,
              let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ").first.flatMap({ Double($0) })
        else { return Date().timeIntervalSince1970 }
        return Date().timeIntervalSince1970 - uptime + startTicks / ticks
    }()

    /// The `process_*` families Prometheus's client libraries export, from /proc/self.
    static func process() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ value: Double) {
            out += "# HELP \(name) \(help[name] ?? fallback(name))\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count >= 2, let kb = Double(parts[1]) else { continue }
                if parts[0] == "VmRSS:" { family("process_resident_memory_bytes", "gauge", kb * 1024) }
                if parts[0] == "VmSize:" { family("process_virtual_memory_bytes", "gauge", kb * 1024) }
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { family("process_open_fds", "gauge", Double(fds.count)) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { family("process_max_fds", "gauge", Double(limit.rlim_cur)) }
        family("process_start_time_seconds", "gauge", (started * 1000).rounded() / 1000)
        var usage = rusage()
        if getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 {
            let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
            family("process_cpu_seconds_total", "counter", cpu)
        }
        return out
    }
}

/// HTTP requests by route (the pattern, not the path: bounded), method and status, and their duration.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func record(_ status: HTTPResponse.Status) {
            let route = context.endpointPath ?? "unmatched"
            let dimensions = [("route", route), ("method", request.method.rawValue), ("status", String(status.code))]
            Counter(label: "iw_http_requests_total", dimensions: dimensions).increment()
            Metrics.Timer(label: "iw_http_request_duration_seconds", dimensions: [("route", route)])
                .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        }
        do {
            let response = try await next(request, context)
            record(response.status)
            return response
        } catch {
            record((error as? any HTTPResponseError)?.status ?? .internalServerError)
            throw error
        }
    }
}
