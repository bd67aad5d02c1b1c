import Foundation

/// The local time zone that fixes what a date, a local day and a calendar year mean (SPEC §2).
/// Called per visit and per registry row, never per position.
public struct LocalCalendar: Sendable {
    public let timeZone: TimeZone

    public init?(identifier: String) {
        guard let tz = TimeZone(identifier: identifier) else { return nil }
        self.timeZone = tz
    }

    public init(timeZone: TimeZone) { self.timeZone = timeZone }

    public static let shanghai = LocalCalendar(identifier: "Asia/Shanghai")!

    public var identifier: String { timeZone.identifier }

    func offsetMs(at ms: Millis) -> Millis {
        Millis(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))) * 1000
    }

    /// The local day number (days since 1970-01-01 in local time) of an instant.
    public func day(of ms: Millis) -> Int {
        let local = ms + offsetMs(at: ms)
        return Int(local >= 0 ? local / Timestamp.msPerDay : (local - Timestamp.msPerDay + 1) / Timestamp.msPerDay)
    }

    /// The local calendar year of an instant.
    public func year(of ms: Millis) -> Int { Timestamp.civilFromDays(day(of: ms)).year }

    /// The instant at which a local day begins (local midnight).
    public func startOfDay(_ dayNumber: Int) -> Millis {
        let naive = Millis(dayNumber) * Timestamp.msPerDay
        // Two rounds settle the offset even across a DST change.
        var guess = naive - offsetMs(at: naive)
        guess = naive - offsetMs(at: guess)
        return guess
    }

    /// An instant written as RFC 3339 with an offset, or as a local date `YYYY-MM-DD`: that day's
    /// start, or with `endOfDay` the next day's (a `to` date is inclusive). Nil for anything else.
    public func instant(_ text: String, endOfDay: Bool = false) -> Millis? {
        if let day = Timestamp.parseDay(text) { return startOfDay(endOfDay ? day + 1 : day) }
        return Timestamp.parseRFC3339(text)
    }

    /// The local calendar year of an instant, as [its first midnight, the next year's).
    public func yearBounds(of ms: Millis) -> (from: Millis, to: Millis) {
        let y = year(of: ms)
        return (startOfDay(Timestamp.daysFromCivil(year: y, month: 1, day: 1)), startOfDay(Timestamp.daysFromCivil(year: y + 1, month: 1, day: 1)))
    }
}
