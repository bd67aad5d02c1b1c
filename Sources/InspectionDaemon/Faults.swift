import Foundation
import NIOConcurrencyHelpers
import Logging

/// A part of the daemon that fails (the journal or the store cannot write, the journal cannot be
/// read back): said clearly once, again every 30 s while it lasts, and once more when it is over;
/// `/health` reports it meanwhile.
final class Faults: Sendable {
    enum Part: String {
        case journal, store
        case journalRead = "journal_read"

        var failing: String { self == .journalRead ? "journal cannot be read" : "\(rawValue) cannot write" }
        var working: String { self == .journalRead ? "journal readable again" : "\(rawValue) writable again" }
    }

    /// Since when each part fails, when that was last said, and the last error.
    private struct State {
        var since: [Part: Date] = [:]
        var lastSaid: [Part: Date] = [:]
        var last: [Part: String] = [:]
    }

    private let state = NIOLockedValueBox(State())
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// What cannot write now, for `/health` (empty when all is well).
    var current: [String: String] { state.withLockedValue { Dictionary(uniqueKeysWithValues: $0.last.map { ($0.key.rawValue, $0.value) }) } }

    func failed(_ part: Part, _ error: Error, consequence: String) {
        let now = Date()
        let say: Date? = state.withLockedValue { s in
            s.last[part] = "\(error)"
            if s.since[part] == nil { s.since[part] = now }
            guard now.timeIntervalSince(s.lastSaid[part] ?? .distantPast) >= 30 else { return nil }
            s.lastSaid[part] = now
            return s.since[part]
        }
        if let since = say {
            logger.critical("\(part.failing): \(consequence)", metadata: [
                "iw.error": "\(error)", "iw.failing_for_s": "\(Int(now.timeIntervalSince(since)))"])
        }
    }

    func recovered(_ part: Part) {
        let began: Date? = state.withLockedValue { s in
            guard let began = s.since.removeValue(forKey: part) else { return nil }
            s.lastSaid[part] = nil
            s.last[part] = nil
            return began
        }
        if let began {
            logger.notice("\(part.working)", metadata: ["iw.failed_for_s": "\(Int(Date().timeIntervalSince(began)))"])
        }
    }
}
