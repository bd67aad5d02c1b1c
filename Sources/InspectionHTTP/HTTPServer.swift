import Foundation
import Hummingbird
import HummingbirdCore
import InspectionConfig
import InspectionDaemon
import Logging
import Prometheus
import ServiceLifecycle

/// The daemon's HTTP side: the supervision office's API under `/api/v1` (bearer tokens), its
/// OpenAPI document, the web page, and `/health` and `/metrics` (Prometheus text format) without
/// a token, for systemd, load balancers and scrapers on the host.
public struct HTTPServer: Sendable {
    public let host: String
    public let port: Int
    let metrics: PrometheusCollectorRegistry
    let daemon: any OfficeBackend
    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, daemon: any OfficeBackend, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.configuration = configuration
        self.host = configuration.daemon.httpHost
        self.port = configuration.daemon.httpPort
        self.daemon = daemon
        self.metrics = metrics
        self.logger = logger
    }

    /// The OpenAPI document of the API (kept in the repository, served at /api/v1/openapi.yaml).
    public static var openAPIDocument: [UInt8] { PackageResources.openapi_yaml }

    /// The routes and the method+path of each API route.
    public func router() -> (Router<BasicRequestContext>, [RouteSpec]) {
        let router = Router()
        router.middlewares.add(SecurityHeaders(policy: WebPage.contentSecurityPolicy(tileURL: configuration.daemon.tileURL)))
        let metrics = self.metrics
        let daemon = self.daemon
        router.middlewares.add(RequestMetrics())
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: MetricsText.render(metrics))))
        }
        router.get("/health") { _, _ -> Response in
            let h = daemon.health()
            let body = try JSONSerialization.data(withJSONObject: ["status": h.ok ? "ok" : "degraded", "detail": h.detail],
                                                  options: [.sortedKeys])
            return Response(status: h.ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/api/v1/openapi.yaml") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/yaml"],
                     body: .init(byteBuffer: ByteBuffer(bytes: Self.openAPIDocument)))
        }
        WebPage(leafletDir: configuration.daemon.leafletDir, tileURL: configuration.daemon.tileURL,
                timeZone: configuration.engine.calendar.identifier, baseMap: configuration.daemon.baseMap).register(on: router)
        let api = SupervisionAPI(store: daemon.store, daemon: daemon, access: Access(tokens: configuration.daemon.apiTokens),
                                 calendar: configuration.engine.calendar,
                                 registry: RegistryView(store: daemon.store, parser: StoredRegistry.parser(configuration)),
                                 settings: configuration.engine)
        let routes = api.register(on: router)
        return (router, routes)
    }

    /// The server as a `Service` for `serve`'s group: on graceful shutdown it stops taking
    /// connections, the live streams end, and what is in flight is answered.
    public func service() -> some Service {
        // Idle and silent connections are closed, and at most `max_connections` are served at once:
        // sockets that never send cannot take every descriptor while the office waits.
        let d = configuration.daemon
        return Application(router: router().0, server: .http1(configuration: .init(idleTimeout: .milliseconds(d.httpIdleTimeout))),
                           configuration: .init(address: .hostname(host, port: port),
                                                availableConnectionsDelegate: MaximumAvailableConnections(d.httpMaxConnections)),
                           logger: logger)
    }

    /// Serves until the task is cancelled. Signals stay with the caller (none are taken here).
    public func run() async throws {
        let app = Application(router: router().0, configuration: .init(address: .hostname(host, port: port)), logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }
}
