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

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Runs the daemon: MQTT positions in, visits and alerts to the store and to MQTT (what systemd starts)."
    )

    @Option(help: "Configuration file (YAML).")
    var config: String

    func run() throws {
        let configuration = loadConfiguration(config)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "inspection-watch")
        signal(SIGPIPE, SIG_IGN)  // a broker or HTTP client gone away is an error to handle, not a death
        // SIGTERM (systemd stop) and SIGINT: drain and stop. SIGHUP: read the registry again.
        let current = DaemonSlot()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { if sig == SIGHUP { current.daemon?.reload() } else { current.stop() } }
            s.resume()
            sources.append(s)
        }
        // A store that cannot be opened for writing (a read-only file system, a full disk): said
        // clearly, and tried again until it can. The daemon does not connect meanwhile, so the
        // broker keeps every position for its session.
        var since: Date?
        var said = Date.distantPast
        let daemon: Daemon
        while true {
            do {
                daemon = try Daemon(configuration: configuration, logger: logger)
                if let since { logger.notice("store writable again", metadata: ["iw.failed_for_s": "\(Int(Date().timeIntervalSince(since)))"]) }
                break
            } catch {
                if case .store = error {
                    if since == nil { since = Date() }
                    if Date().timeIntervalSince(said) >= 30 {
                        said = Date()
                        logger.critical("store cannot be opened for writing: not connecting to the broker, which keeps the positions; trying again every 2 s",
                                        metadata: ["iw.error": "\(error)"])
                    }
                    if current.stopRequested { return }
                    Thread.sleep(forTimeInterval: 2)
                    continue
                }
                fail(error.description)
            }
        }
        current.set(daemon)
        let d = configuration.daemon
        if d.httpPort > 0 {
            let server = HTTPServer(configuration: configuration, daemon: daemon, metrics: registry, logger: logger)
            // The HTTP side runs beside the daemon's threads; if it cannot listen, ingest goes on.
            Task.detached {
                do { try await server.run() } catch {
                    logger.error("http not serving", metadata: ["iw.http": "\(d.httpHost):\(d.httpPort)", "iw.error": "\(error)"])
                }
            }
        }
        do { try daemon.run() } catch { fail(error.description) }
        withExtendedLifetime(sources) {}
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
