import ArgumentParser
import Dispatch
import Foundation
import NIOConcurrencyHelpers
import InspectionConfig
import InspectionDaemon
import InspectionHTTP
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Runs the daemon: MQTT positions in, visits and alerts to the store and to MQTT (what systemd starts)."
    )

    @Option(help: "Configuration file (YAML).")
    var config: String

    func run() async throws {
        let configuration = loadConfiguration(config)
        // Under systemd, each line carries its priority for the journal.
        let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
        LoggingSystem.bootstrap { label in
            if journal { return JournalLogHandler(label: label) }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "inspection-watch")
        signal(SIGPIPE, SIG_IGN)  // a broker or HTTP client gone away is an error to handle, not a death
        // The files the configuration names: a TLS file missing is a stop that names it (not
        // libmosquitto's "Invalid function arguments"); the rest is said and served around
        // (a broken registry.dir: the store's registry; no Leaflet: the page without maps).
        for p in ConfigFiles.problems(configuration) {
            if p.fatal { fail("\(config): \(p)") }
            logger.warning("configured file or folder unusable", metadata: ["iw.setting": "\(p.setting)", "iw.path": "\(p.path)", "iw.error": "\(p.message)"])
        }
        guard let daemon = await openDaemon(configuration, logger: logger, metrics: registry) else { return }
        // The parts in the order they start; SIGTERM (systemd's stop) and SIGINT stop them in
        // reverse: systemd is told STOPPING, the HTTP server stops (no new requests; live streams
        // end, what is in flight is answered), then the daemon's parts (`Daemon.services`: MQTT
        // ingest, the engine, the store's writer, the WAL's checkpoints). SIGHUP reads the
        // registry again.
        var services: [ServiceGroupConfiguration.ServiceConfiguration]
        do { services = try daemon.services() } catch { fail(error.description) }
        let d = configuration.daemon
        if d.httpPort > 0 {
            let server = HTTPServer(configuration: configuration, daemon: daemon, metrics: registry, logger: logger)
            // If it cannot listen, ingest goes on: said, and the rest of the group keeps running.
            services.append(.init(service: server.service(), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        services.append(.init(service: ReloadOnHangup(daemon: daemon)))
        services.append(.init(service: SystemdService(daemon: daemon, environment: ProcessInfo.processInfo.environment)))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            fail("\(error)")
        }
        logger.notice("stopped")
    }

    /// The daemon over its store. A store that cannot be opened for writing (a read-only file
    /// system, a full disk) is said clearly, and tried again until it can; the daemon does not
    /// connect meanwhile, so the broker keeps every position for its session, and the HTTP port
    /// answers `/health` (503, with the reason) and `/metrics` (`WaitingServer`). A SIGTERM or
    /// SIGINT meanwhile ends the wait (nil).
    func openDaemon(_ configuration: Configuration, logger: Logger, metrics: PrometheusCollectorRegistry) async -> Daemon? {
        let stop = DaemonSlot()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { stop.stop() }
            s.resume()
            sources.append(s)
        }
        defer { for s in sources { s.cancel() } }
        var since: Date?
        var said = Date.distantPast
        var waiting: (server: WaitingServer, group: ServiceGroup, task: Task<Void, Error>)?
        while true {
            do {
                let daemon = try Daemon(configuration: configuration, logger: logger)
                if let since { logger.notice("store writable again", metadata: ["iw.failed_for_s": "\(Int(Date().timeIntervalSince(since)))"]) }
                await Self.end(&waiting)
                return daemon
            } catch {
                guard case .store = error else { fail(error.description) }
                if since == nil { since = Date() }
                if Date().timeIntervalSince(said) >= 30 {
                    said = Date()
                    logger.critical("store cannot be opened for writing: not connecting to the broker, which keeps the positions; trying again every 2 s",
                                    metadata: ["iw.error": "\(error)"])
                }
                if waiting == nil && configuration.daemon.httpPort > 0 {
                    let server = WaitingServer(configuration: configuration, metrics: metrics)
                    let group = ServiceGroup(services: [server.service()], logger: logger)
                    waiting = (server, group, Task { try await group.run() })
                }
                waiting?.server.reason.withLockedValue { $0 = "store cannot be opened for writing: \(error)" }
                if stop.stopRequested { await Self.end(&waiting); return nil }
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// The waiting server stopped, its port free for the daemon's.
    static func end(_ waiting: inout (server: WaitingServer, group: ServiceGroup, task: Task<Void, Error>)?) async {
        guard let w = waiting else { return }
        await w.group.triggerGracefulShutdown()
        _ = await w.task.result
        waiting = nil
    }
}

/// The daemon once it exists; a stop asked for before that ends the wait for the store.
final class DaemonSlot: Sendable {
    private let state = NIOLockedValueBox<(daemon: Daemon?, stopped: Bool)>((nil, false))

    var daemon: Daemon? { state.withLockedValue { $0.daemon } }
    var stopRequested: Bool { state.withLockedValue { $0.stopped } }

    func set(_ d: Daemon) {
        let stopNow = state.withLockedValue { $0.daemon = d; return $0.stopped }
        if stopNow { d.stop() }
    }

    func stop() {
        let d = state.withLockedValue { $0.stopped = true; return $0.daemon }
        d?.stop()
    }
}
