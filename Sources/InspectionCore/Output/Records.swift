/// A visit (入企), SPEC §4.1. `end` is nil while the visit is open.
public struct VisitRecord: Sendable, Equatable, Codable {
    public var visitId: String
    public var vehicleId: String
    public var agencyId: String?
    public var siteId: String
    public var enterpriseId: String
    public var start: Millis
    public var end: Millis?
    public var points: Int
    public var taskId: String?
    public var occasionId: String
    /// When the stay reached `min_dwell` and the visit was reported.
    public var openedAt: Millis

    public init(visitId: String, vehicleId: String, agencyId: String?, siteId: String, enterpriseId: String, start: Millis,
                end: Millis?, points: Int, taskId: String?, occasionId: String, openedAt: Millis) {
        self.visitId = visitId; self.vehicleId = vehicleId; self.agencyId = agencyId; self.siteId = siteId
        self.enterpriseId = enterpriseId; self.start = start; self.end = end; self.points = points
        self.taskId = taskId; self.occasionId = occasionId; self.openedAt = openedAt
    }

    public var durationS: Double? { end.map { Double($0 - start) / 1000 } }

    public var json: JSONValue {
        .object([
            ("visit_id", .string(visitId)),
            ("vehicle_id", .string(vehicleId)),
            ("agency_id", .optional(agencyId)),
            ("site_id", .string(siteId)),
            ("enterprise_id", .string(enterpriseId)),
            ("start", .time(start)),
            ("end", end.map(JSONValue.time) ?? .null),
            ("duration_s", durationS.map(JSONValue.double) ?? .null),
            ("points", .int(Int64(points))),
            ("task_id", .optional(taskId)),
            ("occasion_id", .string(occasionId)),
        ])
    }
}

/// An alert, SPEC §4.4; `detail` holds the evidence.
public struct AlertRecord: Sendable, Equatable {
    public var alertId: String
    public var kind: AlertKind
    public var severity: Severity
    public var at: Millis
    public var enterpriseId: String
    public var siteId: String
    public var agencyId: String?
    public var vehicleId: String
    public var visitId: String?
    public var taskId: String?
    public var detail: JSONValue

    public init(alertId: String, kind: AlertKind, severity: Severity, at: Millis, enterpriseId: String, siteId: String,
                agencyId: String?, vehicleId: String, visitId: String?, taskId: String?, detail: JSONValue) {
        self.alertId = alertId; self.kind = kind; self.severity = severity; self.at = at; self.enterpriseId = enterpriseId
        self.siteId = siteId; self.agencyId = agencyId; self.vehicleId = vehicleId; self.visitId = visitId
        self.taskId = taskId; self.detail = detail
    }

    public var json: JSONValue {
        .object([
            ("alert_id", .string(alertId)),
            ("kind", .string(kind.rawValue)),
            ("severity", .string(severity.rawValue)),
            ("at", .time(at)),
            ("enterprise_id", .string(enterpriseId)),
            ("site_id", .string(siteId)),
            ("agency_id", .optional(agencyId)),
            ("vehicle_id", .string(vehicleId)),
            ("visit_id", .optional(visitId)),
            ("task_id", .optional(taskId)),
            ("detail", detail),
        ])
    }
}

/// Stable ids: the same input gives the same id in every run and on every machine (FNV-1a, 64 bit).
public enum StableID {
    public static func make(_ prefix: String, _ parts: [String]) -> String { make(prefix, hash(parts)) }

    /// The id's number: FNV-1a over the parts, 0x1f between them.
    public static func hash(_ parts: [String]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for (i, part) in parts.enumerated() {
            if i > 0 { h ^= 0x1f; h = h &* 0x100_0000_01b3 }
            for b in part.utf8 { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
        }
        return h
    }

    /// The id with that number: the prefix and 16 hexadecimal digits.
    public static func make(_ prefix: String, _ number: UInt64) -> String {
        let hex = String(number, radix: 16)
        return prefix + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The number of an id `make` wrote with a two-character prefix.
    static func number(_ id: String) -> UInt64? { UInt64(id.dropFirst(2), radix: 16) }
}
