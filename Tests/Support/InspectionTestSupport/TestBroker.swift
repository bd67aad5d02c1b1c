import Foundation

/// A real mosquitto broker on a free loopback port, in a temporary folder, for one test.
public final class TestBroker: @unchecked Sendable {
    public private(set) var port: Int32 = 0
    public let dir: URL
    private var pid: pid_t = 0
    private let extraConfig: String
    /// Messages the broker queues for a client before it drops the newest (mosquitto's
    /// `max_queued_messages`; the tests' default is a fleet's, a test of loss sets it small).
    private let maxQueued: Int

    public init(extraConfig: String = "allow_anonymous true\n", maxQueued: Int = 1_000_000) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.extraConfig = extraConfig
        self.maxQueued = maxQueued
        // A port free a moment ago can be taken before the broker binds it (another test's
        // outgoing connection gets its local port from the same range): the broker then exits,
        // and another port is tried.
        for attempt in 1...5 {
            port = try Self.freePort()
            do { try start(); return } catch BrokerError.exited where attempt < 5 { continue }
        }
    }

    enum BrokerError: Error { case exited }

    static var executable: String {
        ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "mosquitto"
    }

    public func start() throws {
        let conf = dir.appendingPathComponent("mosquitto.conf")
        let text = """
        listener \(port) 127.0.0.1
        user root
        persistence true
        persistence_location \(dir.path)/
        log_dest file \(dir.path)/broker.log
        max_queued_messages \(maxQueued)
        max_queued_bytes 0
        \(extraConfig)
        """
        try Data(text.utf8).write(to: conf)
        pid = try spawn(Self.executable, ["-c", conf.path])
        try waitUntilListening()
    }

    /// SIGTERM and wait: the broker saves its persistence file.
    public func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    public func restart() throws {
        stop()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    private func waitUntilListening() throws {
        for _ in 0..<200 {
            if Self.canConnect(port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {  // it could not listen (the port was taken)
                pid = 0
                throw BrokerError.exited
            }
            usleep(25_000)
        }
        throw NSError(domain: "TestBroker", code: 1, userInfo: [NSLocalizedDescriptionKey: "broker did not listen on \(port)"])
    }

    static func canConnect(_ port: Int32) -> Bool {
        guard let fd = connectLoopback(port) else { return false }
        close(fd)
        return true
    }

    public static func freePort() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = loopbackAddress(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NSError(domain: "TestBroker", code: 2) }
        return Int32(UInt16(bigEndian: addr.sin_port))
    }
}

/// Starts a program (POSIX spawn: Foundation's `Process` waits on a run loop that a test runner
/// may not turn), its output discarded.
public func spawn(_ path: String, _ args: [String], stdout: String = "/dev/null", environment: [String: String] = [:]) throws -> pid_t {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    // The test runner blocks signals in its threads; a child inherits that mask and would never
    // see SIGTERM. Start it with none blocked and default handlers.
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
    guard rc == 0 else { throw NSError(domain: "spawn", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot start \(path)"]) }
    return pid
}

/// Runs a program to its end; its exit status.
@discardableResult
/// Runs a program to its end: its exit code and what it wrote (stdout and stderr together, kept in
/// a file under `dir`).
public func runCapturing(_ path: String, _ args: [String], in dir: URL, environment: [String: String] = [:]) throws -> (status: Int32, out: String) {
    let log = dir.appendingPathComponent("run-\(UUID().uuidString).log").path
    let pid = try spawn(path, args, stdout: log, environment: environment)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return ((status >> 8) & 0xff, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
}

public func run(_ path: String, _ args: [String]) throws -> Int32 {
    let pid = try spawn(path, args)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}

/// Waits for a condition, polling; false if it did not hold within `seconds`.
public func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A thread-safe box for what callbacks collect.
public final class Collected<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    public init() {}
    public func append(_ x: T) { lock.withLock { items.append(x) } }
    public var all: [T] { lock.withLock { items } }
    public var count: Int { lock.withLock { items.count } }
}

/// `GET path` on 127.0.0.1:port over a plain socket (HTTP/1.0): the status code and the body,
/// or nil when nothing listens.
public func httpGet(port: Int32, _ path: String) -> (status: Int, body: String)? {
    httpRequest(port: port, "GET", path)
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`): the status and the body.
public func httpRequest(port: Int32, _ method: String, _ path: String, token: String? = nil,
                        body: String? = nil) -> (status: Int, body: String)? {
    guard let fd = connectLoopback(port) else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)  // never hang a test on a server that keeps the connection
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if let token { head += "Authorization: Bearer \(token)\r\n" }
    let payload = Array((body ?? "").utf8)
    if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
    let request = Array((head + "\r\n").utf8) + payload
    guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        response += chunk[..<n]
        // Done when the body is as long as Content-Length says.
        let text = String(decoding: response, as: UTF8.self)
        if let split = text.range(of: "\r\n\r\n"),
           let lengthLine = text[..<split.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
           let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)),
           text[split.upperBound...].utf8.count >= length { break }
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let statusLine = text.split(separator: "\r\n").first, let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
          let split = text.range(of: "\r\n\r\n") else { return nil }
    return (code, String(text[split.upperBound...]))
}

/// 127.0.0.1:`port` as a socket address.
func loopbackAddress(_ port: Int32) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return addr
}

/// A TCP socket connected to 127.0.0.1:`port`, or nil when nothing listens there.
func connectLoopback(_ port: Int32) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var addr = loopbackAddress(port)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { close(fd); return nil }
    return fd
}
