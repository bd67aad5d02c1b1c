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

    var html: [UInt8] {
        let page = String(decoding: PackageResources.index_html, as: UTF8.self)
            .replacingOccurrences(of: "\"__TILE_URL__\"", with: tileURL.map(Self.literal) ?? "null")
            .replacingOccurrences(of: "\"__TIME_ZONE__\"", with: Self.literal(timeZone))
        return Array(page.utf8)
    }

    func register(on router: Router<BasicRequestContext>) {
        let body = ByteBuffer(bytes: html)
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: body))
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
