#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and writes through POSIX calls: one buffer, no `Data` bridging.
public enum FileBytes {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// A file's size in bytes, or nil when it cannot be found.
    public static func size(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(path: path, reason: errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Failure(path: path, reason: "not a regular file") }
        // Read straight into the array's storage: no zero-filling of memory the read overwrites.
        var failure: String?
        let out = [UInt8](unsafeUninitializedCapacity: Int(st.st_size)) { buf, count in
            var done = 0
            while done < buf.count {
                let n = Glibc.read(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; failure = errnoText(); break }
                if n == 0 { break }
                done += n
            }
            count = done
        }
        if let failure { throw Failure(path: path, reason: failure) }
        return out
    }

    /// Writes through a temporary file renamed into place, so a reader never sees half a file.
    public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(path: tmp, reason: errnoText()) }
        var failure: String?
        bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; failure = errnoText(); return }
                done += n
            }
        }
        close(fd)
        if let failure { unlink(tmp); throw Failure(path: tmp, reason: failure) }
        guard rename(tmp, path) == 0 else { throw Failure(path: path, reason: errnoText()) }
    }

    /// Creates the folder and its parents.
    public static func makeDirectory(_ path: String) throws(Failure) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Failure(path: current, reason: errnoText()) }
        }
    }
}
