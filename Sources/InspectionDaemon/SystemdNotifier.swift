#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: a datagram to `$NOTIFY_SOCKET` (READY=1, WATCHDOG=1,
/// STOPPING=1). Does nothing when not started by systemd.
public struct SystemdNotifier: Sendable {
    let path: String?
    /// Half the watchdog interval systemd asked for, in seconds, if it asked.
    public let watchdogInterval: Double?

    public init(environment: [String: String]) {
        path = environment["NOTIFY_SOCKET"]
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 2_000_000 }
    }

    /// Started by systemd with a socket to notify.
    public var enabled: Bool { !(path ?? "").isEmpty }

    public func notify(_ state: String) {
        guard var p = path, !p.isEmpty else { return }
        if p.hasPrefix("@") { p = "\0" + p.dropFirst() }  // abstract namespace
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(p.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = state.withCString { msg in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, msg, strlen(msg), 0, $0, len) }
            }
        }
    }
}
