import Foundation
import Hummingbird
import HummingbirdCore
import InspectionConfig
import Logging
import NIOConcurrencyHelpers
import Prometheus
import ServiceLifecycle

/// What `serve` answers on its HTTP port while the daemon cannot start yet (the store cannot be
/// opened for writing): `/health` says why (503), `/metrics` is served, everything else is 503
/// with the same reason — never a refused connection that looks like a dead host.
public struct WaitingServer: Sendable {
    /// Why the daemon is not running yet (set by whoever retries).
    public let reason = NIOLockedValueBox("starting")
    let configuration: Configuration
    let metrics: PrometheusCollectorRegistry

    public init(configuration: Configuration, metrics: PrometheusCollectorRegistry) {
        self.configuration = configuration
        self.metrics = metrics
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(SecurityHeaders(policy: WebPage.contentSecurityPolicy(tileURL: configuration.daemon.tileURL)))
        let metrics = self.metrics, reason = self.reason
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: MetricsText.render(metrics))))
        }
        let unavailable: @Sendable (Request, BasicRequestContext) throws -> Response = { request, _ in
            let why = reason.withLockedValue { $0 }
            let body: [String: Any] = request.uri.path == "/health"
                ? ["status": "starting", "detail": ["store": why]]
                : ["error": ["code": "starting", "message": "守护进程尚未启动 (the daemon is not running yet): \(why)"]]
            return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "2"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))))
        }
        router.get("/health", use: unavailable)
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/**", method: method, use: unavailable)
        }
        return router
    }

    /// The server as a `Service`, stopped by a graceful shutdown of its group.
    public func service() -> some Service {
        let d = configuration.daemon
        return Application(router: router(), server: .http1(configuration: .init(idleTimeout: .milliseconds(d.httpIdleTimeout))),
                           configuration: .init(address: .hostname(d.httpHost, port: d.httpPort),
                                                availableConnectionsDelegate: MaximumAvailableConnections(d.httpMaxConnections)),
                           logger: Logger(label: "inspection-watch.waiting"))
    }
}
