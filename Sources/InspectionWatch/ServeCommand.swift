import ArgumentParser
import Dispatch
import Foundation
import InspectionConfig
import InspectionDaemon
import Logging

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Runs the daemon: MQTT positions in, visits and alerts to the store and to MQTT (what systemd starts)."
    )

    @Option(help: "Configuration file (YAML).")
    var config: String

    func run() throws {
        let configuration: Configuration
        do { configuration = try Configuration.load(path: config) } catch { fail(error.description) }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let daemon = Daemon(configuration: configuration, logger: Logger(label: "inspection-watch"))
        // SIGTERM (systemd stop) and SIGINT: drain and stop. SIGHUP: read the registry again.
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { if sig == SIGHUP { daemon.reload() } else { daemon.stop() } }
            s.resume()
            sources.append(s)
        }
        do { try daemon.run() } catch { fail(error.description) }
        withExtendedLifetime(sources) {}
    }
}
