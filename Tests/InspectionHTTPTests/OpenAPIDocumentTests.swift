import Foundation
import InspectionConfig
import InspectionDaemon
import InspectionHTTP
import Logging
import Prometheus
import Testing
import Yams

/// The OpenAPI document kept in the repository describes exactly the routes the server has.
@Suite struct OpenAPIDocumentTests {
    static func documented() throws -> (routes: Set<RouteSpec>, document: [String: Any]) {
        let text = String(decoding: HTTPServer.openAPIDocument, as: UTF8.self)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(doc["paths"] as? [String: Any])
        var routes = Set<RouteSpec>()
        for (path, item) in paths {
            for method in (item as? [String: Any] ?? [:]).keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                routes.insert(RouteSpec(method: method.uppercased(), path: path))
            }
        }
        return (routes, doc)
    }

    static func served() throws -> [RouteSpec] {
        var c = Configuration()
        c.daemon.storePath = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).sqlite").path
        let daemon = try Daemon(configuration: c, logger: Logger(label: "test"))
        return HTTPServer(configuration: c, daemon: daemon, metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test")).router().1
    }

    @Test func documentListsEveryRouteAndNoOther() throws {
        let served = try Self.served()
        #expect(Set(served).count == served.count, "a route registered twice")
        let documented = try Self.documented().routes
        let missing = Set(served).subtracting(documented).map(\.description).sorted()
        let extra = documented.subtracting(served).map(\.description).sorted()
        #expect(missing.isEmpty, "served but not in openapi.yaml: \(missing)")
        #expect(extra.isEmpty, "in openapi.yaml but not served: \(extra)")
        #expect(served.count == 24)
    }

    /// Every route answers 401 without a token: the document says so for each.
    @Test func everyOperationDocumentsItsErrors() throws {
        let doc = try Self.documented().document
        let paths = doc["paths"] as? [String: Any] ?? [:]
        for (path, item) in paths {
            for (method, op) in item as? [String: Any] ?? [:] {
                let responses = (op as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                #expect(responses["401"] != nil, "\(method) \(path) does not document 401")
                if path.contains("{") { #expect(responses["404"] != nil, "\(method) \(path) does not document 404") }
            }
        }
    }
}
