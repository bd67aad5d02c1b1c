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
}
