/// RFC 4180 CSV in UTF-8 with a byte-order mark and CRLF line ends: what Excel on a Chinese
/// Windows opens as UTF-8 (without the mark it reads GBK and the names come out garbled).
public enum CSVWriter {
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public static func bytes(_ t: Table) -> [UInt8] {
        var out = byteOrderMark
        line(t.header.map { Table.Cell.text($0) }, into: &out)
        for r in t.rows { line(r, into: &out) }
        return out
    }

    static func line(_ cells: [Table.Cell], into out: inout [UInt8]) {
        for (i, c) in cells.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            switch c {
            case .empty: break
            case .number(let n): out += Array(number(n).utf8)
            case .text(let s): field(s, into: &out)
            }
        }
        out += [13, 10]
    }

    /// Quoted when it holds a comma, quote or line end; a leading `=`, `+`, `-` or `@` is
    /// prefixed with an apostrophe so that Excel does not run it as a formula (CSV injection).
    static func field(_ s: String, into out: inout [UInt8]) {
        var s = s
        if let f = s.unicodeScalars.first, "=+-@".unicodeScalars.contains(f), Double(s) == nil { s = "'" + s }
        let bytes = Array(s.utf8)
        guard bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) else {
            out += bytes
            return
        }
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            if b == UInt8(ascii: "\"") { out.append(b) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whole numbers without a decimal point; others as Swift writes them (shortest round trip).
    static func number(_ n: Double) -> String {
        n.isFinite && n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : "\(n)"
    }
}
