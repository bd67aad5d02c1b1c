import Dispatch
import Foundation
import InspectionCore
import InspectionMQTT
import InspectionStore
import NIOConcurrencyHelpers
import ServiceLifecycle

// The daemon's parts as `Service`s (`Daemon.services()` gives them in the order they start). Each
// part has a thread of its own that blocks (libmosquitto's, the engine's, the writer's, the
// WAL's); a service starts or watches it, and on a graceful shutdown (or cancellation) stops it
// and returns once it has ended. Blocking calls go to a thread, never to the cooperative pool.

/// Runs `body` on a thread of its own and returns when it has.
func onThread(_ name: String, _ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let t = Thread {
            body()
            done.resume()
        }
        t.name = name
        t.start()
    }
}

/// WAL checkpoints in the background (`WALCheckpointer`): stopped last, after the writer's last
/// commit.
struct WALCheckpointService: Service {
    let store: Store

    func run() async throws {
        try? await gracefulShutdown()
        await onThread("wal-stop") { store.stopWALCheckpoints() }
    }
}

/// The store's writer (`StoreWriter`): stopped after the engine, once what it was given is
/// committed (or, if the store cannot write, given up: it is in the journal).
struct StoreWriterService: Service {
    let writer: StoreWriter

    func run() async throws {
        try? await gracefulShutdown()
        await onThread("writer-stop") { writer.stop() }
    }
}

/// The engine's loop (`EngineRunner`) on its thread. A graceful shutdown asks it to finish:
/// what was received processed and handed to the writer, the engine's checkpoint saved.
struct EngineService: Service {
    let daemon: Daemon
    let runner: EngineRunner

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await onThread("engine") { runner.run() }
        } onCancelOrGracefulShutdown: {
            daemon.stop()
        }
    }
}

/// MQTT ingest: connects (libmosquitto's thread journals and queues each message) and, on a
/// graceful shutdown, disconnects first of the daemon's parts, so that nothing arrives while
/// the rest finishes.
struct IngestService: Service {
    let daemon: Daemon
    let client: MQTTClient

    func run() async throws {
        do { try client.start() } catch { throw Daemon.Failure.mqtt(error) }
        daemon.started.partStarted()
        try? await gracefulShutdown()
        daemon.disconnecting.set(true)
        await onThread("mqtt-stop") { client.stop() }
    }
}

/// systemd's notifications (sd_notify) on the lifecycle: READY=1 once ingest and the engine run,
/// STATUS= lines while it runs, WATCHDOG=1 while the engine's loop beats, STOPPING=1 when the
/// stop begins (it is the last service: stopped first). Does nothing outside systemd.
public struct SystemdService: Service {
    let daemon: Daemon
    let notifier: SystemdNotifier

    public init(daemon: Daemon, environment: [String: String]) {
        self.daemon = daemon
        notifier = SystemdNotifier(environment: environment)
    }

    public func run() async throws {
        while !daemon.started.isReady {
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: .milliseconds(50)) })) != nil else { return }
        }
        notifier.notify("READY=1\nSTATUS=\(status())")
        daemon.logger.notice("serving")
        let tick = min(notifier.watchdogInterval ?? 10, 10)
        var lastStatus = Self.monotonic()
        while true {
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: .seconds(tick)) })) != nil else { break }
            let now = Self.monotonic()
            if let w = notifier.watchdogInterval, Self.feedsWatchdog(now: now, lastBeat: daemon.engineAlive.get(), interval: w) {
                notifier.notify("WATCHDOG=1")
            }
            if notifier.enabled && now - lastStatus >= 10 {
                lastStatus = now
                notifier.notify("STATUS=\(status())")
            }
        }
        notifier.notify("STOPPING=1\nSTATUS=正在停止 (stopping)")
    }

    static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Whether the watchdog is fed: the engine's loop beat within the watchdog's time
    /// (`interval` is half of it); a loop stuck longer is left for systemd to restart.
    static func feedsWatchdog(now: Double, lastBeat: Double?, interval: Double) -> Bool {
        guard let lastBeat else { return false }
        return now - lastBeat < 2 * interval
    }

    private func status() -> String {
        let calendar = daemon.configuration.engine.calendar
        let midnight = calendar.startOfDay(calendar.day(of: Millis(Date().timeIntervalSince1970 * 1000)))
        return Self.status(health: daemon.health().detail, openAlerts: try? daemon.store.openAlertCount(),
                           alertsToday: try? daemon.store.alertCount(since: midnight))
    }

    /// The line `systemctl status` shows: the broker, how far behind, what waits, today's and
    /// open alerts, what fails.
    static func status(health: [String: String], openAlerts: Int?, alertsToday: Int? = nil) -> String {
        var parts = [health["mqtt"] == "connected" ? "MQTT 已连接" : "MQTT 未连接"]
        if let lag = health["lag_s"] { parts.append("延迟 \(lag) s") }
        if let q = health["ingest_queue"] { parts.append("待处理消息 \(q)") }
        if let o = health["outbox_unpublished"] { parts.append("待发布告警 \(o)") }
        if let alertsToday { parts.append("今日告警 \(alertsToday)") }
        if let openAlerts { parts.append("未处理告警 \(openAlerts)") }
        let known: Set<String> = ["mqtt", "ingest_queue", "outbox_unpublished", "store", "lag_s"]
        for (part, error) in health.sorted(by: { $0.key < $1.key }) where !known.contains(part) || (part == "store" && error != "ok") {
            parts.append("故障 \(part): \(error)")
        }
        return parts.joined(separator: " · ")
    }
}
