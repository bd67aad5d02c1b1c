import Foundation
import InspectionDaemon
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon's threads as one `Service`: `run` blocks a thread of its own (the engine's loop),
/// and a graceful shutdown asks it to stop — MQTT disconnected, what was received processed,
/// the store's writer drained, the engine's checkpoint saved — and waits for it.
struct DaemonService: Service {
    let daemon: Daemon

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
                let t = Thread {
                    do { try daemon.run(); done.resume() } catch { done.resume(throwing: error) }
                }
                t.name = "engine"
                t.start()
            }
        } onGracefulShutdown: {
            daemon.stop()
        }
    }
}

/// SIGHUP reads the registry again (`Daemon.reload`), until the group shuts down.
struct ReloadOnHangup: Service {
    let daemon: Daemon

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            daemon.reload()
        }
    }
}
