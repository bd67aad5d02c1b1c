/// A JSON value with keys kept in the order written, so output is byte-for-byte reproducible.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// JSON text written as it is (a stored alert's detail).
    case raw(String)

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.raw(x), .raw(y)): return x == y
        default: return false
        }
    }

    public static func time(_ ms: Millis) -> JSONValue { .string(Timestamp.formatUTC(ms)) }
    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    public subscript(key: String) -> JSONValue? {
        if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite {
                if d == d.rounded() && abs(d) < 1e15 { out.append(contentsOf: String(Int64(d)).utf8) } else { out.append(contentsOf: "\(d)".utf8) }
            } else { out.append(contentsOf: "null".utf8) }
        case .string(let s): Self.writeString(s, to: &out)
        case .raw(let s): out.append(contentsOf: s.utf8)
        case .array(let a):
            out.append(91)
            for (i, v) in a.enumerated() { if i > 0 { out.append(44) }; v.write(to: &out) }
            out.append(93)
        case .object(let kv):
            out.append(123)
            for (i, (k, v)) in kv.enumerated() {
                if i > 0 { out.append(44) }
                Self.writeString(k, to: &out); out.append(58); v.write(to: &out)
            }
            out.append(125)
        }
    }

    public var serialized: String {
        if case .raw(let s) = self { return s }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same JSON as text written once (`.raw`): serialized here, so that whoever writes it
    /// later — the store, a publisher — copies it instead.
    public var asRaw: JSONValue {
        if case .raw = self { return self }
        return .raw(serialized)
    }

    /// The JSON text as UTF-8 (a message's payload).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(34)
        for c in s.utf8 {
            switch c {
            case 34: out.append(92); out.append(34)
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(110)
            case 13: out.append(92); out.append(114)
            case 9: out.append(92); out.append(116)
            case 0..<32:
                out.append(contentsOf: [92, 117, 48, 48]); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
            default: out.append(c)
            }
        }
        out.append(34)
    }
}
