/// Event times are Unix milliseconds in an `Int64`: exact to compare, cheap to store, no `Date` on hot paths.
public typealias Millis = Int64

public enum Timestamp {
    public static let msPerSecond: Millis = 1000
    public static let msPerDay: Millis = 86_400_000

    /// Days since 1970-01-01 of a civil (proleptic Gregorian) date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number (inverse of `daysFromCivil`).
    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// RFC 3339 in UTC: `2025-06-17T01:30:00Z`, with `.sss` only when the milliseconds are not zero.
    public static func formatUTC(_ ms: Millis) -> String {
        var days = ms / msPerDay
        var rem = ms % msPerDay
        if rem < 0 { rem += msPerDay; days -= 1 }
        let (y, mo, d) = civilFromDays(Int(days))
        let secOfDay = Int(rem / 1000), milli = Int(rem % 1000)
        // Written as bytes, one allocation: alert details hold dozens of times each. A year
        // outside 0...9999 is written as `pad` writes it.
        return String(unsafeUninitializedCapacity: 48) { b in
            var i = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) { b[i + k] = UInt8(48 + v % 10); v /= 10 }
                i += width
            }
            func sep(_ c: UInt8) { b[i] = c; i += 1 }
            if (0...9999).contains(y) { put(y, 4) } else { for c in pad(y, 4).utf8 { sep(c) } }
            sep(45); put(mo, 2); sep(45); put(d, 2); sep(84)
            put(secOfDay / 3600, 2); sep(58); put(secOfDay / 60 % 60, 2); sep(58); put(secOfDay % 60, 2)
            if milli != 0 { sep(46); put(milli, 3) }
            sep(90)
            return i
        }
    }

    /// `YYYY-MM-DD` of a day number.
    public static func formatDay(_ dayNumber: Int) -> String {
        let (y, m, d) = civilFromDays(dayNumber)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// `v` in decimal, zeros in front up to `width` digits (dates, ids, file names).
    public static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Parses RFC 3339 (`2025-06-17T09:30:00+08:00`, `…Z`, fractional seconds, `t`/space separator).
    /// Returns nil for anything else, including out-of-range fields.
    public static func parseRFC3339<C: Collection<UInt8>>(_ bytes: C) -> Millis? where C.Index == Int {
        var p = bytes.startIndex
        let end = bytes.endIndex
        func digits(_ n: Int) -> Int? {
            guard end - p >= n else { return nil }
            var v = 0
            for _ in 0..<n {
                let c = bytes[p]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48); p += 1
            }
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard p < end, bytes[p] == c else { return false }
            p += 1; return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        guard p < end, bytes[p] == 84 || bytes[p] == 116 || bytes[p] == 32 else { return nil }
        p += 1
        guard let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var millis = 0
        if p < end, bytes[p] == 46 {
            p += 1
            var scale = 100, count = 0
            while p < end, bytes[p] >= 48, bytes[p] <= 57 {
                millis += Int(bytes[p] - 48) * scale
                scale /= 10; p += 1; count += 1
            }
            guard count > 0 else { return nil }
        }
        guard p < end else { return nil }
        var offset = 0
        switch bytes[p] {
        case 90, 122: p += 1
        case 43, 45:
            let sign = bytes[p] == 45 ? -1 : 1
            p += 1
            guard let oh = digits(2), expect(58), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        default: return nil
        }
        guard p == end else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return Millis(secs) * 1000 + Millis(millis)
    }

    public static func parseRFC3339(_ s: String) -> Millis? {
        var s = s
        return s.withUTF8 { parseRFC3339($0) }
    }

    /// Parses a date `YYYY-MM-DD` into its day number.
    public static func parseDay(_ s: String) -> Int? {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == 45, b[7] == 45 else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard b[i] >= 48 && b[i] <= 57 else { return nil }; v = v * 10 + Int(b[i] - 48) }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10),
              (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y) else { return nil }
        return daysFromCivil(year: y, month: m, day: d)
    }
}
