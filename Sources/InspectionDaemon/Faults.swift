import Foundation
import Logging

/// A part of the daemon that fails (the journal or the store cannot write, the journal cannot be
/// read back): said clearly once, again every 30 s while it lasts, and once more when it is over;
/// `/health` reports it meanwhile.
final class Faults: @unchecked Sendable {
    enum Part: String {
        case journal, store
        case journalRead = "journal_read"

        var failing: String { self == .journalRead ? "journal cannot be read" : "\(rawValue) cannot write" }
        var working: String { self == .journalRead ? "journal readable again" : "\(rawValue) writable again" }
    }

    private let lock = NSLock()
    private var since: [Part: Date] = [:]
    private var lastSaid: [Part: Date] = [:]
    private var last: [Part: String] = [:]
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// What cannot write now, for `/health` (empty when all is well).
    var current: [String: String] { lock.withLock { Dictionary(uniqueKeysWithValues: last.map { ($0.key.rawValue, $0.value) }) } }

    func failed(_ part: Part, _ error: Error, consequence: String) {
        let now = Date()
        let say: Bool = lock.withLock {
            last[part] = "\(error)"
            if since[part] == nil { since[part] = now }
            guard now.timeIntervalSince(lastSaid[part] ?? .distantPast) >= 30 else { return false }
            lastSaid[part] = now
            return true
        }
        if say {
            let s = lock.withLock { since[part] ?? now }
            logger.critical("\(part.failing): \(consequence)", metadata: [
                "iw.error": "\(error)", "iw.failing_for_s": "\(Int(now.timeIntervalSince(s)))"])
        }
    }

    func recovered(_ part: Part) {
        let began: Date? = lock.withLock {
            guard let s = since.removeValue(forKey: part) else { return nil }
            lastSaid[part] = nil
            last[part] = nil
            return s
        }
        if let began {
            logger.notice("\(part.working)", metadata: ["iw.failed_for_s": "\(Int(Date().timeIntervalSince(began)))"])
        }
    }
}
