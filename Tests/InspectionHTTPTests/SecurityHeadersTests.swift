import Foundation
@testable import InspectionHTTP
import InspectionTestSupport
import Testing

/// Issue 28 item 7: the page and the API send a Content-Security-Policy (scripts from the server
/// only: the page has no inline script), no sniffing, no framing, no referrer; the token is kept
/// for the tab (sessionStorage), not on disk.
@Suite struct SecurityHeadersTests {
    static func raw(_ port: Int32, _ path: String) -> String {
        let c = RawConnection(port: port, request: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        _ = eventually(10) { c.closed }
        return c.text
    }

    @Test func thePageAndTheAPISendThePolicyAndThePageHasNoInlineScript() throws {
        let w = try APIWorld()
        for path in ["/", "/static/app.js", "/api/v1/me", "/health"] {
            let text = Self.raw(w.httpPort, path).lowercased()
            #expect(text.contains("content-security-policy: default-src 'self'; script-src 'self';"), "\(path)")
            #expect(text.contains("x-content-type-options: nosniff") && text.contains("x-frame-options: deny"), "\(path)")
            #expect(text.contains("referrer-policy: no-referrer") && text.contains("frame-ancestors 'none'"), "\(path)")
        }
        let page = Self.raw(w.httpPort, "/")
        // Every <script> has a src: the policy's script-src 'self' lets the page run.
        let scripts = page.components(separatedBy: "<script").dropFirst()
        #expect(scripts.count == 2 && scripts.allSatisfy { $0.hasPrefix(" src=\"/static/") })
        let js = Self.raw(w.httpPort, "/static/app.js")
        #expect(js.contains("const TIME_ZONE = \"Asia/Shanghai\";") && js.contains("const TILE_URL = null;"))
        // The token lives for the tab only; what outlives it is the language chosen, nothing else.
        #expect(js.contains("sessionStorage.getItem(\"iw-token\")"))
        let kept = js.components(separatedBy: "localStorage.").dropFirst().map { String($0.prefix(while: { $0 != ")" })) }
        #expect(Set(kept) == ["getItem(\"iw-lang\"", "setItem(\"iw-lang\", lang"], "\(kept)")
    }

    @Test func theTileServerIsTheOnlyOtherImageSource() {
        #expect(WebPage.tileOrigin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org")
        #expect(WebPage.tileOrigin("http://tiles.city.local:8080/{z}/{x}/{y}.png") == "http://tiles.city.local:8080")
        #expect(WebPage.tileOrigin("not a url") == nil)
        #expect(WebPage.tileOrigin("https://evil.org; script-src *") == nil)
        #expect(WebPage.contentSecurityPolicy(tileURL: "https://tiles.city.local/{z}/{x}/{y}.png")
            .contains("img-src 'self' data: https://tiles.city.local;"))
        #expect(WebPage.contentSecurityPolicy(tileURL: nil).contains("img-src 'self' data:;"))
    }
}
