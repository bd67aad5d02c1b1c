/// The `native` JSON position of SPEC §3.1, read by a byte scanner (no `JSONDecoder`: it is ~40×
/// slower per message here). Also the line format of NDJSON trace files.
public struct NativePayload: Sendable {
    /// Vehicle id bytes, unescaped; empty when the payload has none (the topic supplies it).
    public var vehicle: [UInt8]
    public var ts: Millis
    public var lat: Double
    public var lon: Double
    public var speedKmh: Float = .nan
    public var heading: Float = .nan
    public var accuracyM: Float = .nan
}

/// Why a payload was rejected, with a message a person can act on.
public struct PayloadError: Error, Sendable, Equatable {
    public var reason: RejectReason
    public var message: String
    public init(_ reason: RejectReason, _ message: String) { self.reason = reason; self.message = message }
}

/// A minimal, strict scanner for one JSON object, enough for flat payloads with nested values skipped.
public struct JSONScanner {
    let b: UnsafeBufferPointer<UInt8>
    var p: Int
    let end: Int

    public init(_ b: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) {
        self.b = b; self.p = start; self.end = end ?? b.count
    }

    public enum Value {
        case string(start: Int, end: Int, escaped: Bool)
        case number(start: Int, end: Int)
        case bool(Bool)
        case null
        case object(start: Int, end: Int)
        case array(start: Int, end: Int)
    }

    @inline(__always)
    mutating func skipSpace() {
        while p < end {
            let c = b[p]
            if c == 32 || c == 9 || c == 10 || c == 13 { p += 1 } else { break }
        }
    }

    /// Calls `field` for every member of the object; false if the text is not one JSON object.
    public mutating func members(_ field: (_ keyStart: Int, _ keyEnd: Int, _ keyEscaped: Bool, _ value: Value) -> Void) -> Bool {
        skipSpace()
        guard p < end, b[p] == 123 else { return false }
        p += 1
        skipSpace()
        if p < end && b[p] == 125 { p += 1; skipSpace(); return p == end }
        while true {
            skipSpace()
            guard p < end, b[p] == 34, let key = string() else { return false }
            skipSpace()
            guard p < end, b[p] == 58 else { return false }
            p += 1
            skipSpace()
            guard let v = value() else { return false }
            field(key.0, key.1, key.2, v)
            skipSpace()
            guard p < end else { return false }
            if b[p] == 44 { p += 1; continue }
            if b[p] == 125 { p += 1; break }
            return false
        }
        skipSpace()
        return p == end
    }

    /// Calls `element` for every value of the list; false if the text is not one JSON list.
    public mutating func elements(_ element: (_ value: Value) -> Void) -> Bool {
        skipSpace()
        guard p < end, b[p] == 91 else { return false }
        p += 1
        skipSpace()
        if p < end && b[p] == 93 { p += 1; skipSpace(); return p == end }
        while true {
            skipSpace()
            guard let v = value() else { return false }
            element(v)
            skipSpace()
            guard p < end else { return false }
            if b[p] == 44 { p += 1; continue }
            if b[p] == 93 { p += 1; break }
            return false
        }
        skipSpace()
        return p == end
    }

    /// At an opening quote: the content range and whether it holds escapes.
    @inline(__always)
    mutating func string() -> (Int, Int, Bool)? {
        p += 1
        let s = p
        var escaped = false
        while p < end {
            let c = b[p]
            if c == 34 { let e = p; p += 1; return (s, e, escaped) }
            if c == 92 { escaped = true; p += 2; continue }
            if c < 32 { return nil }
            p += 1
        }
        return nil
    }

    mutating func value() -> Value? {
        guard p < end else { return nil }
        let c = b[p]
        switch c {
        case 34:
            guard let s = string() else { return nil }
            return .string(start: s.0, end: s.1, escaped: s.2)
        case 123, 91:
            let s = p
            guard skipNested() else { return nil }
            return c == 123 ? .object(start: s, end: p) : .array(start: s, end: p)
        case 116: return literal("true") ? .bool(true) : nil
        case 102: return literal("false") ? .bool(false) : nil
        case 110: return literal("null") ? .null : nil
        default:
            let s = p
            while p < end {
                let d = b[p]
                if (d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69 { p += 1 } else { break }
            }
            return p > s ? .number(start: s, end: p) : nil
        }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard end - p >= n else { return false }
        let w = word.utf8Start
        for i in 0..<n where b[p + i] != w[i] { return false }
        p += n
        return true
    }

    mutating func skipNested() -> Bool {
        var depth = 0
        while p < end {
            let c = b[p]
            if c == 34 { guard string() != nil else { return false }; continue }
            if c == 123 || c == 91 { depth += 1 } else if c == 125 || c == 93 {
                depth -= 1
                if depth == 0 { p += 1; return true }
            }
            p += 1
        }
        return false
    }

    /// Whether the key equals `name` (plain ASCII keys; an escaped key never matches a known one).
    @inline(__always)
    public static func keyIs(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        guard e - s == n else { return false }
        let w = name.utf8Start
        for i in 0..<n where b[s + i] != w[i] { return false }
        return true
    }

    /// The string's bytes with JSON escapes undone.
    public static func unescaped(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(e - s)
        var i = s
        while i < e {
            let c = b[i]
            if c != 92 { out.append(c); i += 1; continue }
            guard i + 1 < e else { break }
            let x = b[i + 1]
            i += 2
            switch x {
            case 110: out.append(10)
            case 116: out.append(9)
            case 114: out.append(13)
            case 98: out.append(8)
            case 102: out.append(12)
            case 117:
                guard i + 4 <= e, let u = hex4(b, i) else { return out }
                i += 4
                var scalar = u
                if u >= 0xD800 && u < 0xDC00, i + 6 <= e, b[i] == 92, b[i + 1] == 117, let lo = hex4(b, i + 2), lo >= 0xDC00, lo < 0xE000 {
                    scalar = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                }
                if let us = Unicode.Scalar(scalar) { out.append(contentsOf: Array(String(Character(us)).utf8)) }
            default: out.append(x)
            }
        }
        return out
    }

    private static func hex4(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = b[i + k]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }
}

extension NativePayload {
    /// Parses one `native` payload (SPEC §3.1).
    public static func parse(_ b: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) -> Result<NativePayload, PayloadError> {
        var sc = JSONScanner(b, start: start, end: end)
        var vehicle: [UInt8] = []
        var ts: Millis?
        var lat: Double?, lon: Double?
        var speed: Float = .nan, heading: Float = .nan, acc: Float = .nan
        var problem: PayloadError?
        let ok = sc.members { ks, ke, _, v in
            guard problem == nil else { return }
            if JSONScanner.keyIs(b, ks, ke, "vehicle") {
                switch v {
                case .string(let s, let e, let esc): vehicle = esc ? JSONScanner.unescaped(b, s, e) : Array(b[s..<e])
                case .number(let s, let e): vehicle = Array(b[s..<e])
                case .null: break
                default: problem = PayloadError(.wrongType, "vehicle must be a string")
                }
            } else if JSONScanner.keyIs(b, ks, ke, "ts") {
                switch v {
                case .number(let s, let e):
                    if let d = NumberParsing.double(b, s, e), let t = NumberParsing.epochMillis(d) {
                        ts = t
                    } else { problem = PayloadError(.wrongType, "ts is not a valid Unix time") }
                case .string(let s, let e, _):
                    if let t = NumberParsing.timestamp(b, s, e) { ts = t } else {
                        problem = PayloadError(.wrongType, "ts is neither Unix seconds nor RFC 3339")
                    }
                default: problem = PayloadError(.wrongType, "ts must be a number or an RFC 3339 string")
                }
            } else if JSONScanner.keyIs(b, ks, ke, "lat") || JSONScanner.keyIs(b, ks, ke, "lon") {
                let isLat = JSONScanner.keyIs(b, ks, ke, "lat")
                guard case .number(let s, let e) = v, let d = NumberParsing.double(b, s, e) else {
                    problem = PayloadError(.wrongType, (isLat ? "lat" : "lon") + " must be a number")
                    return
                }
                if isLat { lat = d } else { lon = d }
            } else if JSONScanner.keyIs(b, ks, ke, "speed") || JSONScanner.keyIs(b, ks, ke, "heading") || JSONScanner.keyIs(b, ks, ke, "acc") {
                var x: Float = .nan
                switch v {
                case .number(let s, let e):
                    guard let d = NumberParsing.double(b, s, e) else { problem = PayloadError(.wrongType, "a number is malformed"); return }
                    x = Float(d)
                case .null: break
                default:
                    problem = PayloadError(.wrongType, String(decoding: UnsafeBufferPointer(rebasing: b[ks..<ke]), as: UTF8.self) + " must be a number")
                    return
                }
                if JSONScanner.keyIs(b, ks, ke, "speed") { speed = x } else if JSONScanner.keyIs(b, ks, ke, "heading") { heading = x } else { acc = x }
            }
        }
        if let problem { return .failure(problem) }
        guard ok else { return .failure(PayloadError(.unparsable, "not a JSON object")) }
        guard let ts else { return .failure(PayloadError(.missingField, "ts is missing")) }
        guard let lat else { return .failure(PayloadError(.missingField, "lat is missing")) }
        guard let lon else { return .failure(PayloadError(.missingField, "lon is missing")) }
        return .success(NativePayload(vehicle: vehicle, ts: ts, lat: lat, lon: lon, speedKmh: speed, heading: heading, accuracyM: acc))
    }
}
