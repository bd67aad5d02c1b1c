import InspectionCore

/// SPEC §3.3's rate-limited logging of rejected payloads, as a value: the first rejection of each
/// reason is said at once; after that at most one line per reason per `interval`, with how many
/// were rejected since the last line and the latest one's message and topic. Times are plain
/// seconds (the caller's monotonic clock); `EngineRunner` writes the lines.
struct RejectLog: Equatable {
    struct Line: Equatable {
        var reason: RejectReason
        /// Rejected since the last line of this reason (this one included).
        var count: Int
        var message: String
        var topic: String
    }

    let interval: Double
    private var lastSaid: [RejectReason: Double] = [:]
    private var pending: [RejectReason: Line] = [:]

    init(interval: Double = 60) { self.interval = interval }

    /// A payload rejected at `now`: the line to write now, if one is due.
    mutating func rejected(_ reason: RejectReason, message: String, topic: String, now: Double) -> Line? {
        var line = pending[reason] ?? Line(reason: reason, count: 0, message: message, topic: topic)
        line.count += 1
        line.message = message
        line.topic = topic
        if let said = lastSaid[reason], now - said < interval {
            pending[reason] = line
            return nil
        }
        pending[reason] = nil
        lastSaid[reason] = now
        return line
    }

    /// The counts waiting whose interval has passed at `now` (a quiet stream's last rejections
    /// are said too), by reason.
    mutating func due(now: Double) -> [Line] {
        var out: [Line] = []
        for reason in RejectReason.allCases {
            guard let line = pending[reason], let said = lastSaid[reason], now - said >= interval else { continue }
            out.append(line)
            pending[reason] = nil
            lastSaid[reason] = now
        }
        return out
    }
}
