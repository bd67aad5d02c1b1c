import Foundation
import Hummingbird
import InspectionConfig

/// Who is calling, from the bearer token (SPEC §5; tokens and roles are in the configuration).
struct Principal: Sendable {
    var name: String
    var role: APIToken.Role
    /// Set for an agency's token: what it sees and changes is confined to this agency.
    var agencyId: String?

    var mayChangeAlerts: Bool { role == .supervisor }
    var mayChangeTasks: Bool { role != .readonly }
    var mayReload: Bool { role == .supervisor }
}

/// Checks bearer tokens. Comparison takes the same time whatever the bytes (no timing oracle).
struct Access: Sendable {
    let tokens: [APIToken]

    func principal(_ request: Request) throws(APIError) -> Principal {
        guard let header = request.headers[.authorization] else { throw .unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .unauthorized }
        let given = Array(parts[1].trimmingCharacters(in: .whitespaces).utf8)
        var found: APIToken?
        for t in tokens where Self.same(Array(t.token.utf8), given) { found = t }
        guard let t = found else { throw APIError(status: .unauthorized, message: "unknown token") }
        return Principal(name: t.name, role: t.role, agencyId: t.agencyId)
    }

    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
