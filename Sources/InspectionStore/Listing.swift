import GRDB
import InspectionCore

/// What alert and visit lists are narrowed by (nil: any). `agencyId` also confines an agency's
/// token to its own; `from` and `to` bound the record's time (an alert's `at`, a visit's `start`).
public struct RecordFilter: Sendable {
    public var agencyId: String?
    public var enterpriseId: String?
    public var siteId: String?
    public var vehicleId: String?
    public var from: Millis?
    public var to: Millis?
    public var limit = 100
    public var offset = 0
    public init() {}
}

/// A list filter with the common narrowing inside: `f.agencyId` reads and sets `f.records.agencyId`.
@dynamicMemberLookup
public protocol NarrowsRecords {
    var records: RecordFilter { get set }
}

extension NarrowsRecords {
    public subscript<T>(dynamicMember key: WritableKeyPath<RecordFilter, T>) -> T {
        get { records[keyPath: key] }
        set { records[keyPath: key] = newValue }
    }
}

/// An SQL WHERE clause and its arguments, built one condition at a time.
struct Conditions {
    private var clauses: [String] = []
    private(set) var arguments = StatementArguments()

    mutating func add(_ clause: String, _ values: [(any DatabaseValueConvertible)?] = []) {
        clauses.append(clause)
        arguments += StatementArguments(values)
    }

    mutating func equal(_ column: String, _ value: String?) {
        if let value { add("\(column) = ?", [value]) }
    }

    mutating func oneOf(_ column: String, _ values: [String]) {
        if !values.isEmpty { add("\(column) IN (" + values.map { _ in "?" }.joined(separator: ",") + ")", values) }
    }

    /// The common narrowing of alert and visit lists; `time` is the column `from` and `to` bound.
    mutating func filter(_ f: RecordFilter, time: String) {
        equal("agency_id", f.agencyId)
        equal("enterprise_id", f.enterpriseId)
        equal("site_id", f.siteId)
        equal("vehicle_id", f.vehicleId)
        if let from = f.from { add("\(time) >= ?", [from]) }
        if let to = f.to { add("\(time) < ?", [to]) }
    }

    var sql: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
}

extension Store {
    /// One page of a table's rows matching `conditions`, in `order`, and how many match in all.
    func page<T: Sendable>(_ table: String, _ conditions: Conditions, order: String, limit: Int, offset: Int,
                           _ map: @escaping @Sendable (Row) -> T) async throws -> (items: [T], total: Int) {
        let sql = conditions.sql
        let arguments = conditions.arguments
        return try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)" + sql, arguments: arguments) ?? 0
            let items = try Row.fetchAll(db, sql: "SELECT * FROM \(table)" + sql + " ORDER BY \(order) LIMIT ? OFFSET ?",
                                         arguments: arguments + [limit, offset]).map(map)
            return (items, total)
        }
    }
}
