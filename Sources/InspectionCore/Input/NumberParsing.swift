import Foundation

/// Number parsing straight from bytes: the hot paths never build a `String` for a number.
public enum NumberParsing {
    private static let pow10: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// The range without surrounding blanks (space, tab).
    @inline(__always)
    public static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (Int, Int) {
        var s = start, e = end
        while s < e && (b[s] == 32 || b[s] == 9) { s += 1 }
        while e > s && (b[e - 1] == 32 || b[e - 1] == 9) { e -= 1 }
        return (s, e)
    }

    /// A decimal number (`-12.5`, `1e-3`, `+7`); surrounding blanks allowed. Nil if it is not one.
    /// Plain decimals of up to 15 digits are exact (one correctly rounded division); anything
    /// longer or with an exponent goes through `strtod`.
    @inline(__always)
    public static func double(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let (s, e) = trimmed(b, start, end)
        guard s < e else { return nil }
        var p = s
        var negative = false
        if b[p] == 45 { negative = true; p += 1 } else if b[p] == 43 { p += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawDigit = false
        while p < e, b[p] >= 48, b[p] <= 57 {
            mantissa = mantissa &* 10 &+ UInt64(b[p] - 48); digits += 1; p += 1; sawDigit = true
        }
        if p < e && b[p] == 46 {
            p += 1
            while p < e, b[p] >= 48, b[p] <= 57 {
                mantissa = mantissa &* 10 &+ UInt64(b[p] - 48); digits += 1; fraction += 1; p += 1; sawDigit = true
            }
        }
        guard sawDigit else { return nil }
        if p == e && digits <= 15 {
            let v = Double(mantissa) / pow10[fraction]
            return negative ? -v : v
        }
        guard p == e || b[p] == 101 || b[p] == 69 || digits > 15 else { return nil }
        return slowDouble(b, s, e)
    }

    private static func slowDouble(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Double? {
        var tmp = [CChar](repeating: 0, count: e - s + 1)
        for i in s..<e {
            let c = b[i]
            // only what a JSON or CSV number may hold
            guard (c >= 48 && c <= 57) || c == 43 || c == 45 || c == 46 || c == 101 || c == 69 else { return nil }
            tmp[i - s] = CChar(bitPattern: c)
        }
        return tmp.withUnsafeBufferPointer { t -> Double? in
            var endPtr: UnsafeMutablePointer<CChar>?
            let v = strtod(t.baseAddress!, &endPtr)
            guard let endPtr, endPtr == UnsafeMutablePointer(mutating: t.baseAddress! + (e - s)) else { return nil }
            return v
        }
    }

    /// Unix time in seconds (or, above 1e11, already in milliseconds) as milliseconds; nil for
    /// what no clock says (negative, not finite, past the year 5000), so no conversion can trap.
    @inline(__always)
    public static func epochMillis(_ d: Double) -> Millis? {
        guard d.isFinite, d >= 0 else { return nil }
        let ms = d >= 100_000_000_000 ? d : d * 1000
        guard ms < 95_617_584_000_000 else { return nil }  // 5000-01-01
        return Millis(ms.rounded())
    }

    /// A whole number that fits, or nil (never a trap on 1e300 or NaN).
    @inline(__always)
    public static func wholeNumber(_ d: Double) -> Int64? {
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int64(d)
    }

    /// A timestamp field: Unix seconds (integer or decimal) or RFC 3339, to milliseconds.
    @inline(__always)
    public static func timestamp(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Millis? {
        let (s, e) = trimmed(b, start, end)
        guard s < e else { return nil }
        // RFC 3339 has a '-' at index 4; seconds never do.
        if e - s >= 20 && b[s + 4] == 45 {
            return Timestamp.parseRFC3339(UnsafeBufferPointer(rebasing: b[s..<e]))
        }
        var p = s
        var secs: Int64 = 0
        var n = 0
        while p < e, b[p] >= 48, b[p] <= 57 {
            guard n < 15 else { return nil }
            secs = secs * 10 + Int64(b[p] - 48); p += 1; n += 1
        }
        guard n > 0 else { return nil }
        var millis: Int64 = 0
        if p < e && b[p] == 46 {
            p += 1
            var scale: Int64 = 100
            var round = false
            var fd = 0
            while p < e, b[p] >= 48, b[p] <= 57 {
                if scale > 0 { millis += Int64(b[p] - 48) * scale; scale /= 10 } else if fd == 3 { round = b[p] >= 53 }
                fd += 1; p += 1
            }
            if round { millis += 1 }
        }
        guard p == e else { return nil }
        return secs * 1000 + millis
    }
}
