import Foundation
import Hummingbird

/// The supervision office's page: one HTML document (embedded in the executable) and Leaflet from
/// Debian's libjs-leaflet. Nothing is fetched from the internet; base-map tiles only when
/// `http.tiles` names a tile server.
struct WebPage: Sendable {
    let leafletDir: String
    let tileURL: String?
    /// Times on the page are shown in the configured zone (`time_zone`), whatever the browser's.
    let timeZone: String
    /// `http.base_map`: a GeoJSON file the page draws as its base layer when there are no tiles.
    var baseMap: String? = nil

    /// A base map larger than this is not served (the page would stall drawing it).
    static let baseMapLimit = 64 << 20

    /// The Leaflet files the page uses; nothing else under `leafletDir` is served.
    static let leafletFiles: [String: String] = [
        "leaflet.js": "text/javascript", "leaflet.css": "text/css",
        "images/marker-icon.png": "image/png", "images/marker-icon-2x.png": "image/png",
        "images/marker-shadow.png": "image/png", "images/layers.png": "image/png", "images/layers-2x.png": "image/png",
    ]

    /// A JavaScript string literal.
    static func literal(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "<", with: "\\u003c") + "\""
    }

    var html: [UInt8] { PackageResources.index_html }

    /// The page's script, with the configured tile server and time zone.
    var script: [UInt8] {
        let js = String(decoding: PackageResources.app_js, as: UTF8.self)
            .replacingOccurrences(of: "\"__TILE_URL__\"", with: tileURL.map(Self.literal) ?? "null")
            .replacingOccurrences(of: "\"__TIME_ZONE__\"", with: Self.literal(timeZone))
            .replacingOccurrences(of: "\"__BASE_MAP__\"", with: baseMap == nil ? "false" : "true")
        return Array(js.utf8)
    }

    /// The page's Content-Security-Policy: its own scripts, styles, data and connections only,
    /// tiles from the configured server, never framed. (Leaflet sets inline styles.)
    static func contentSecurityPolicy(tileURL: String?) -> String {
        var img = "'self' data:"
        if let origin = tileURL.flatMap(tileOrigin) { img += " " + origin }
        return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src \(img); connect-src 'self'; "
            + "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    /// `https://{s}.tile.example.org/{z}/{x}/{y}.png` → `https://*.tile.example.org`.
    static func tileOrigin(_ url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let host = rest.prefix { $0 != "/" }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == ";" || $0 == "'" }) else { return nil }
        return String(url[..<scheme.upperBound]) + host.replacingOccurrences(of: "{s}", with: "*")
    }

    func register(on router: Router<BasicRequestContext>) {
        let body = ByteBuffer(bytes: html)
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: body))
        }
        let js = ByteBuffer(bytes: script)
        router.get("/static/app.js") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: js))
        }
        // Read when asked (the office may replace the file), bounded.
        let baseMap = self.baseMap
        router.get("/static/basemap.geojson") { _, _ -> Response in
            guard let path = baseMap, let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int,
                  size <= Self.baseMapLimit, let data = FileManager.default.contents(atPath: path) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/geo+json", .cacheControl: "max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let dir = leafletDir
        router.get("/static/leaflet/**") { request, context -> Response in
            let name = context.parameters.getCatchAll().joined(separator: "/")
            guard let type = Self.leafletFiles[name], let data = FileManager.default.contents(atPath: dir + "/" + name) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=86400"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}

/// Headers every response carries: the page's Content-Security-Policy, no content-type sniffing,
/// never framed, no referrer sent on.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    let policy: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("Content-Security-Policy")!] = policy
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
