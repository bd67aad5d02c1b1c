import ArgumentParser
import Dispatch
import Foundation
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
        let daemon: Daemon
        do { daemon = try Daemon(configuration: configuration, logger: logger) } catch { fail(error.description) }
        signal(SIGPIPE, SIG_IGN)  // a broker or HTTP client gone away is an error to handle, not a death
        // SIGTERM (systemd stop) and SIGINT: drain and stop. SIGHUP: read the registry again.
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { if sig == SIGHUP { daemon.reload() } else { daemon.stop() } }
            s.resume()
            sources.append(s)
        }
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
