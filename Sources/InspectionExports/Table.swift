/// A table for the office to take away (the 执法统计年报, a follow-up list): a header row and rows
/// of cells, written as CSV or XLSX by the same value.
public struct Table: Sendable, Equatable {
    public enum Cell: Sendable, Equatable {
        case text(String)
        case number(Double)
        case empty
    }

    /// The sheet's name in a workbook (at most 31 characters; Excel's limit).
    public var name: String
    public var header: [String]
    public var rows: [[Cell]]

    public init(name: String, header: [String], rows: [[Cell]] = []) {
        self.name = name; self.header = header; self.rows = rows
    }
}

extension Table.Cell {
    public static func optional(_ s: String?) -> Table.Cell { s.map { .text($0) } ?? .empty }
    public static func int(_ n: Int) -> Table.Cell { .number(Double(n)) }
    /// A share as a percentage with one decimal (计划检查率 75.0), empty when there is none.
    public static func percent(_ share: Double?) -> Table.Cell { share.map { .number(($0 * 1000).rounded() / 10) } ?? .empty }
}
