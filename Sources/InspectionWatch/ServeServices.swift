import Foundation
import InspectionDaemon
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP reads the registry again (`Daemon.reload`), until the group shuts down.
struct ReloadOnHangup: Service {
    let daemon: Daemon

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            daemon.reload()
        }
    }
}
