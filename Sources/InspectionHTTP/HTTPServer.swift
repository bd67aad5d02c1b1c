import Foundation
import Hummingbird
import Logging
import Prometheus

/// The daemon's HTTP side: `GET /health` and `GET /metrics` (Prometheus text format) for now;
/// the supervision office's API is added here.
public struct HTTPServer: Sendable {
    public struct Health: Sendable {
        public var ok: Bool
        public var detail: [String: String]
        public init(ok: Bool, detail: [String: String]) { self.ok = ok; self.detail = detail }
    }

    public let host: String
    public let port: Int
    let metrics: PrometheusCollectorRegistry
    let health: @Sendable () -> Health
    let logger: Logger

    public init(host: String, port: Int, metrics: PrometheusCollectorRegistry, logger: Logger,
                health: @escaping @Sendable () -> Health) {
        self.host = host; self.port = port; self.metrics = metrics; self.logger = logger; self.health = health
    }

    func application() -> some ApplicationProtocol {
        let router = Router()
        let metrics = self.metrics
        let health = self.health
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/health") { _, _ -> Response in
            let h = health()
            let body = try JSONSerialization.data(withJSONObject: ["status": h.ok ? "ok" : "degraded", "detail": h.detail],
                                                  options: [.sortedKeys])
            return Response(status: h.ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
    }

    /// Serves until the task is cancelled. Signals stay with the daemon (none are taken here).
    public func run() async throws {
        try await application().runService(gracefulShutdownSignals: [])
    }
}
