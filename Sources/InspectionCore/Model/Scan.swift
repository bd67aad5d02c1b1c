/// A code scan (亮码检查, SPEC §3.5): an enterprise scanned the administrative-action code an
/// agency's officers showed on site.
public struct Scan: Sendable, Equatable, Hashable, Codable {
    public var scanId: String
    public var enterpriseId: String
    public var agencyId: String
    /// Kept and shown; plays no part in coverage.
    public var taskId: String?
    public var at: Millis

    public init(scanId: String, enterpriseId: String, agencyId: String, taskId: String?, at: Millis) {
        self.scanId = scanId; self.enterpriseId = enterpriseId; self.agencyId = agencyId; self.taskId = taskId; self.at = at
    }

    public var json: JSONValue {
        .object([("scan_id", .string(scanId)), ("enterprise_id", .string(enterpriseId)), ("agency_id", .string(agencyId)),
                 ("task_id", .optional(taskId)), ("at", .time(at))])
    }
}

/// Validation of one scan from its text fields, the same for every way scans arrive (the CSV
/// file, MQTT JSON, the API): an error names the field.
public enum ScanFields {
    /// The CSV header (SPEC §3.5).
    public static let columns = ["scan_id", "enterprise_id", "agency_id", "task_id", "at"]
    /// Ids longer than this are refused (a scan is a row in the store and a key in memory).
    public static let maxIdBytes = 128

    public static func scan(from row: [String: String]) throws(TaskFieldError) -> Scan {
        func id(_ k: String, required: Bool = true) throws(TaskFieldError) -> String? {
            let v = (row[k] ?? "").trimmingSpaces
            if v.isEmpty {
                if required { throw TaskFieldError(field: k, message: "required") }
                return nil
            }
            guard v.utf8.count <= maxIdBytes else { throw TaskFieldError(field: k, message: "longer than \(maxIdBytes) bytes") }
            guard !v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw TaskFieldError(field: k, message: "contains a control character")
            }
            return v
        }
        let scanId = try id("scan_id")!
        let enterprise = try id("enterprise_id")!
        let agency = try id("agency_id")!
        let task = try id("task_id", required: false)
        let atText = (row["at"] ?? "").trimmingSpaces
        guard !atText.isEmpty else { throw TaskFieldError(field: "at", message: "required") }
        guard let at = Timestamp.parseRFC3339(atText) else {
            throw TaskFieldError(field: "at", message: "\"\(atText)\" is not an RFC 3339 time with offset")
        }
        return Scan(scanId: scanId, enterpriseId: enterprise, agencyId: agency, taskId: task, at: at)
    }

    /// One scan as a JSON object (MQTT, the API): its members as text, then `scan(from:)`. A
    /// member of another type than string (null for `task_id`) is an error naming it.
    public static func scan(json bytes: UnsafeBufferPointer<UInt8>) throws(TaskFieldError) -> Scan {
        var row: [String: String] = [:]
        var wrong: String?
        var scanner = JSONScanner(bytes)
        let ok = scanner.members { ks, ke, kEscaped, value in
            let key = String(decoding: kEscaped ? JSONScanner.unescaped(bytes, ks, ke) : Array(bytes[ks..<ke]), as: UTF8.self)
            guard columns.contains(key) else { return }
            switch value {
            case .string(let s, let e, let escaped):
                row[key] = String(decoding: escaped ? JSONScanner.unescaped(bytes, s, e) : Array(bytes[s..<e]), as: UTF8.self)
            case .null where key == "task_id":
                break
            default:
                if wrong == nil { wrong = key }
            }
        }
        guard ok else { throw TaskFieldError(field: "payload", message: "not one JSON object") }
        if let wrong { throw TaskFieldError(field: wrong, message: "must be a string") }
        return try scan(from: row)
    }

    /// The reason a scan that does not validate is counted and dead-lettered under.
    public static func rejectReason(_ e: TaskFieldError) -> RejectReason {
        if e.field == "payload" { return .unparsable }
        if e.message == "required" { return .missingField }
        if e.message.hasPrefix("longer than") { return .tooLarge }
        return .wrongType
    }

    public static func scan(json: [UInt8]) throws(TaskFieldError) -> Scan {
        var result: Result<Scan, TaskFieldError>!
        json.withUnsafeBufferPointer { b in
            do throws(TaskFieldError) { result = .success(try scan(json: b)) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}

/// The scans received, by enterprise in time order (SPEC §3.5): of two with one `scan_id` the
/// first stands; a later one that is the same is a duplicate, one that differs a conflict.
public struct ScanBook: Sendable, Equatable {
    public enum Added: Sendable, Equatable { case new, duplicate, conflict }

    private var byId: [String: Scan] = [:]
    private var byEnterprise: [String: [Scan]] = [:]
    public private(set) var duplicates = 0
    public private(set) var conflicts = 0

    public init() {}

    public init<S: Sequence<Scan>>(_ scans: S) {
        for s in scans { add(s) }
    }

    @discardableResult
    public mutating func add(_ s: Scan) -> Added {
        if let old = byId[s.scanId] {
            if old == s { duplicates += 1; return .duplicate }
            conflicts += 1
            return .conflict
        }
        byId[s.scanId] = s
        var list = byEnterprise.removeValue(forKey: s.enterpriseId) ?? []
        let i = list.firstIndex { $0.at > s.at || ($0.at == s.at && byteOrder(s.scanId, $0.scanId)) } ?? list.count
        list.insert(s, at: i)
        byEnterprise[s.enterpriseId] = list
        return .new
    }

    public var count: Int { byId.count }

    /// Forgets scans before a time (they can cover nothing kept any more).
    public mutating func removeScans(before t: Millis) {
        for (e, list) in byEnterprise where list.first.map({ $0.at < t }) == true {
            let keep = list.filter { $0.at >= t }
            for s in list where s.at < t { byId[s.scanId] = nil }
            byEnterprise[e] = keep.isEmpty ? nil : keep
        }
    }

    /// The counts a checkpoint kept.
    public mutating func restoreCounts(duplicates d: Int, conflicts c: Int) { duplicates = d; conflicts = c }

    /// An enterprise's scans, earliest first (then by `scan_id`).
    public func scans(atEnterprise e: String) -> [Scan] { byEnterprise[e] ?? [] }

    /// Every scan, by enterprise (byte order) then time.
    public var all: [Scan] { byEnterprise.keys.sorted(by: byteOrder).flatMap { byEnterprise[$0]! } }
}

extension ScanFields {
    /// A scans CSV file (header `scan_id,enterprise_id,agency_id,task_id,at`, SPEC §3.5): the
    /// scans of the lines that validate, in file order, and `file:line: field: message` for each
    /// that does not (skipped). A missing column stops it (nothing can be read).
    public static func parseCSV(_ bytes: [UInt8], file: String) throws(RegistryError) -> (scans: [Scan], errors: [String]) {
        let rows = try RegistryParser(coordinates: .wgs84, calendar: .shanghai, margin: 0)
            .table(bytes, file: file, required: ["scan_id", "enterprise_id", "agency_id", "at"])
        var scans: [Scan] = [], errors: [String] = []
        scans.reserveCapacity(rows.count)
        for (line, row) in rows {
            do throws(TaskFieldError) { scans.append(try scan(from: row)) } catch {
                errors.append("\(file):\(line): \(error.field): \(error.message)")
            }
        }
        return (scans, errors)
    }
}
