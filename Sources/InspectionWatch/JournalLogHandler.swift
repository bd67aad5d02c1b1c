import Foundation
import Logging

/// Log lines for journald when systemd connects stderr to it (`$JOURNAL_STREAM`): each line starts
/// with its syslog priority (`<3>` error … `<7>` debug), which journald reads as the entry's
/// priority (`SyslogLevelPrefix=`, on by default), so `journalctl -p warning` shows what matters;
/// journald stamps the time itself. Elsewhere the daemon logs as swift-log's stream handler does.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The line for one entry: `<4>warning inspection-watch: mqtt.reason=… [InspectionDaemon] mqtt disconnected`.
    static func line(level: Logger.Level, label: String, message: Logger.Message, metadata: Logger.Metadata, source: String) -> String {
        let meta = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // One entry, one line: a newline inside would start an entry at the default priority.
        let text = "\(message)".replacingOccurrences(of: "\n", with: " ")
        return "<\(priority(level))>\(level) \(label):\(meta.isEmpty ? "" : " " + meta.replacingOccurrences(of: "\n", with: " ")) [\(source)] \(text)\n"
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let all = metadata.merging(explicit ?? [:]) { $1 }
        FileHandle.standardError.write(Data(Self.line(level: level, label: label, message: message, metadata: all, source: source).utf8))
    }
}
