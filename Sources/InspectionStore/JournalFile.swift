import Foundation
#if canImport(Glibc)
import Glibc
#endif
import InspectionCore

/// The journal of received messages: append-only segment files beside the database
/// (`<store>.journal/<first seq>.seg`). A message is copied into the segment being written, a
/// shared mapping of the file, before it is acknowledged to the broker: the kernel's page cache
/// holds it from then on, as it would after a `write(2)`, so a crash of the process (even SIGKILL)
/// loses nothing — an SQLite commit per message could not keep up with a fleet (16,000 commits/s
/// measured here), and a `write(2)` per message was a sixth of the receiving thread's time. The
/// file's blocks are allocated ahead, 4 MiB at a time (`posix_fallocate`): a full disk is an
/// error here, when the next extent cannot be had, never a fault in a page of the mapping. The
/// engine's checkpoint in the database names the last sequence number it covers; segments wholly
/// before it are deleted.
///
/// Record: `0xA5`, body length (UInt32 LE), FNV-1a of the body (UInt32 LE), body =
/// seq (Int64), receivedAt (Int64), subscription (UInt16), topic length (UInt16), topic, payload.
/// What follows the last record is zeros (blocks allocated ahead) or a torn record (the process
/// died inside the copy); both are cut off on open.
/// `@unchecked Sendable`: the segments and mapping are changed only under `lock`.
public final class JournalFile: @unchecked Sendable {
    public let directory: String
    /// Bytes after which a new segment begins.
    public let segmentBytes: Int
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var segments: [Int64] = []  // first seq of each, ascending; the last is being written
    private var written = 0
    public private(set) var nextSeq: Int64 = 1
    private var buffer: [UInt8] = []
    /// The segment being written, mapped: `mapBytes` of address space, `allocated` of them backed
    /// by the file's blocks (the file's size), `written` of those holding records.
    private var map: UnsafeMutableRawPointer?
    private var mapBytes = 0
    private var allocated = 0
    /// Blocks allocated at a time.
    static let extent = 4 << 20

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `startAfter`: the last sequence number the database knows of (numbering goes on from there
    /// even if the folder was emptied).
    public init(directory: String, startAfter: Int64 = 0, segmentBytes: Int = 64 << 20) throws {
        self.directory = directory
        self.segmentBytes = segmentBytes
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        segments = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".seg") }.compactMap { Int64($0.dropLast(4)) }.sorted()
        // Find the end: the last good record of the last segment; cut a torn tail.
        if let last = segments.last {
            let path = segmentPath(last)
            let (entries, goodBytes) = try Self.read(path)
            if let e = entries.last { nextSeq = e.seq + 1 } else { nextSeq = last }
            if goodBytes < (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) {
                guard truncate(path, off_t(goodBytes)) == 0 else { throw Failure(description: "\(path): cannot cut its torn end") }
            }
            fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
            written = goodBytes
            allocated = goodBytes
            if nextSeq <= startAfter { nextSeq = startAfter + 1; try startSegment() }
        } else {
            nextSeq = startAfter + 1
            try startSegment()
        }
    }

    deinit {
        unmap()
        if fd >= 0 { close(fd) }
    }

    func segmentPath(_ first: Int64) -> String { directory + "/" + Timestamp.pad(Int(first), 20) + ".seg" }

    private func startSegment() throws {
        unmap()
        if fd >= 0 {
            if allocated > written { _ = ftruncate(fd, off_t(written)) }  // the blocks allocated ahead, given back
            close(fd)
        }
        let path = segmentPath(nextSeq)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        if segments.last != nextSeq { segments.append(nextSeq) }
        written = 0
        allocated = Int(lseek(fd, 0, SEEK_END))  // a segment of this name left empty by a failed start
    }

    private func unmap() {
        if let map { munmap(map, mapBytes) }
        map = nil
        mapBytes = 0
    }

    /// Makes the segment's first `end` bytes writable through the mapping: blocks allocated (the
    /// file grown) by extents, the mapping made larger when it ends before.
    private func reserve(_ end: Int) throws {
        let roundedEnd = (end + Self.extent - 1) / Self.extent * Self.extent  // up to a whole extent
        if end > allocated {
            let rc = posix_fallocate(fd, off_t(allocated), off_t(roundedEnd - allocated))
            guard rc == 0 else { throw Failure(description: "journal write: \(String(cString: strerror(rc)))") }
            allocated = roundedEnd
        }
        if end > mapBytes {
            unmap()
            let size = Swift.max(segmentBytes + Self.extent, roundedEnd)
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
            guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
                throw Failure(description: "journal map: \(String(cString: strerror(errno)))")
            }
            map = p
            mapBytes = size
        }
    }

    /// Appends a message. With `durable` (a QoS 1 message, about to be acknowledged) it is written
    /// before this returns and survives a crash of the process; otherwise (QoS 0: the broker
    /// promised nothing) it may wait in memory for up to 64 KiB of company, or the next `flush`.
    public func append(receivedAt: Millis, subscription: Int, topic: String, payload: [UInt8],
                       durable: Bool = true) throws -> JournalEntry {
        var topic = topic
        let seq = try topic.withUTF8 { t in
            try payload.withUnsafeBytes { p in try appendRecord(receivedAt: receivedAt, subscription: subscription, topic: t, payload: p, durable: durable) }
        }
        return JournalEntry(seq: seq, receivedAt: receivedAt, subscription: subscription, topic: topic, payload: payload)
    }

    /// The same from bytes the caller does not own (a message in libmosquitto's buffers): they
    /// are copied twice, into the journal's buffer and into the entry.
    public func append(receivedAt: Millis, subscription: Int, topic: UnsafeBufferPointer<UInt8>, payload: UnsafeRawBufferPointer,
                       durable: Bool = true) throws -> JournalEntry {
        let seq = try appendRecord(receivedAt: receivedAt, subscription: subscription, topic: topic, payload: payload, durable: durable)
        return JournalEntry(seq: seq, receivedAt: receivedAt, subscription: subscription,
                            topic: String(decoding: topic, as: UTF8.self), payload: Array(payload))
    }

    private func appendRecord(receivedAt: Millis, subscription: Int, topic: UnsafeBufferPointer<UInt8>, payload: UnsafeRawBufferPointer,
                              durable: Bool) throws -> Int64 {
        try lock.withLock {
            if written + buffer.count >= segmentBytes { try writeBuffer(); try startSegment() }
            let seq = nextSeq
            let topicBytes = UnsafeBufferPointer(rebasing: topic.prefix(65_535))
            let bodyLength = 8 + 8 + 2 + 2 + topicBytes.count + payload.count
            buffer.append(0xA5)
            Self.put(UInt32(bodyLength), &buffer)
            let checksumAt = buffer.count
            Self.put(UInt32(0), &buffer)
            let bodyAt = buffer.count
            Self.put(UInt64(bitPattern: seq), &buffer)
            Self.put(UInt64(bitPattern: receivedAt), &buffer)
            Self.put(UInt16(clamping: max(0, subscription)), &buffer)
            Self.put(UInt16(topicBytes.count), &buffer)
            buffer.append(contentsOf: topicBytes)
            buffer.append(contentsOf: payload)
            let sum = buffer.withUnsafeBufferPointer { Self.checksum(UnsafeBufferPointer(rebasing: $0[bodyAt...])) }
            withUnsafeBytes(of: sum.littleEndian) { for (i, b) in $0.enumerated() { buffer[checksumAt + i] = b } }
            nextSeq += 1
            if durable || buffer.count >= 64 << 10 {
                do { try writeBuffer() } catch { nextSeq = seq; throw error }
            }
            return seq
        }
    }

    /// Writes what QoS 0 appends left in memory.
    public func flush() throws { try lock.withLock { try writeBuffer() } }

    /// Everything buffered, copied into the segment after its last record; when the blocks for it
    /// cannot be had, nothing is copied and the buffer is dropped with the records in it (the
    /// caller holds the durable one unacknowledged).
    private func writeBuffer() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try reserve(written + buffer.count)
        buffer.withUnsafeBytes { map!.advanced(by: written).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        written += buffer.count
    }

    /// Deletes the segments whose every entry is at or before `seq` (the checkpoint covers them).
    public func prune(through seq: Int64) {
        let doomed: [Int64] = lock.withLock {
            var d: [Int64] = []
            while segments.count > 1 && segments[1] <= seq + 1 { d.append(segments.removeFirst()) }
            return d
        }
        for first in doomed { unlink(segmentPath(first)) }
    }

    public var segmentCount: Int { lock.withLock { segments.count } }

    // MARK: bytes

    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static func get<T: FixedWidthInteger>(_ b: [UInt8], _ at: Int) -> T {
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { d in for i in 0..<MemoryLayout<T>.size { d[i] = b[at + i] } }
        return T(littleEndian: v)
    }

    static func checksum(_ b: ArraySlice<UInt8>) -> UInt32 {
        b.withUnsafeBufferPointer { checksum($0) }
    }

    /// FNV-1a.
    static func checksum(_ b: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for c in b { h = (h ^ UInt32(c)) &* 0x0100_0193 }
        return h
    }

    /// The good records of a segment and how many bytes they take.
    static func read(_ path: String) throws -> (entries: [JournalEntry], goodBytes: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read") }
        let b = [UInt8](data)
        var out: [JournalEntry] = []
        var i = 0
        while let (e, end) = record(b, at: i) { out.append(e); i = end }
        return (out, i)
    }

    /// The record that begins at `i` and where it ends; nil at the end of the good records (no
    /// more bytes, a torn record, or a checksum that does not match).
    static func record(_ b: [UInt8], at i: Int) -> (JournalEntry, end: Int)? {
        guard i + 9 <= b.count, b[i] == 0xA5 else { return nil }
        let length = Int(get(b, i + 1) as UInt32)
        let sum: UInt32 = get(b, i + 5)
        let body = i + 9
        guard length >= 20, body + length <= b.count, checksum(b[body..<(body + length)]) == sum else { return nil }
        let topicLength = Int(get(b, body + 18) as UInt16)
        guard 20 + topicLength <= length else { return nil }
        let e = JournalEntry(
            seq: Int64(bitPattern: get(b, body)), receivedAt: Int64(bitPattern: get(b, body + 8)),
            subscription: Int(get(b, body + 16) as UInt16),
            topic: String(decoding: b[(body + 20)..<(body + 20 + topicLength)], as: UTF8.self),
            payload: Array(b[(body + 20 + topicLength)..<(body + length)]))
        return (e, body + length)
    }
}

extension JournalFile {
    /// Reads the journal forward in batches, from a sequence number on, while it is being written:
    /// the engine's way back to messages that were journaled but not kept in memory (it fell
    /// behind), and the start-up's way through what came after the checkpoint. Reading where the
    /// last read ended costs one `pread` per megabyte; only records already written are seen.
    public final class Reader {
        private let journal: JournalFile
        private var fd: Int32 = -1
        private var segment: Int64 = -1
        private var offset = 0
        /// The sequence number the next record at `offset` is expected to carry.
        private var expected: Int64 = -1
        private var chunk: [UInt8] = []
        private var chunkAt = 0  // file offset of chunk[0]

        public init(_ journal: JournalFile) { self.journal = journal }
        deinit { if fd >= 0 { close(fd) } }

        /// Up to `max` entries with sequence numbers from `from` through `through`, oldest first;
        /// fewer when the journal holds no more of them (QoS 0 messages whose write failed are
        /// gaps, not errors).
        public func read(from: Int64, through: Int64 = .max, max: Int) throws -> [JournalEntry] {
            var out: [JournalEntry] = []
            guard max > 0, from <= through else { return out }
            if from != expected || fd < 0 { try seek(from) }
            while out.count < max {
                guard let (e, end) = try next() else {
                    // The end of this segment's good records: on to the next one, if there is one.
                    guard let following = journal.lock.withLock({ journal.segments.first { $0 > segment } }) else { break }
                    try open(following)
                    continue
                }
                if e.seq > through { break }
                offset = end
                expected = e.seq + 1
                if e.seq >= from { out.append(e) }
            }
            return out
        }

        /// To the segment that holds `seq`, at its start (records before `seq` are skipped by `read`).
        private func seek(_ seq: Int64) throws {
            let segs = journal.lock.withLock { journal.segments }
            try open(segs.last { $0 <= seq } ?? segs.first ?? seq)
            expected = seq
        }

        private func open(_ first: Int64) throws {
            if fd >= 0 { close(fd) }
            let path = journal.segmentPath(first)
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
            segment = first
            offset = 0
            chunk = []
            chunkAt = 0
        }

        /// The record at `offset`, reading from the file when the chunk in memory ends before it does.
        private func next() throws -> (JournalEntry, end: Int)? {
            let at = offset - chunkAt
            if at >= 0, let (e, end) = JournalFile.record(chunk, at: at) { return (e, chunkAt + end) }
            var want = 1 << 20
            if at >= 0, at + 9 <= chunk.count {
                // A record longer than what is left of the chunk (a length beyond any message is not one).
                let length = Int(JournalFile.get(chunk, at + 1) as UInt32)
                if length > 64 << 20 { return nil }
                want = Swift.max(want, 9 + length)
            }
            var fresh = [UInt8](repeating: 0, count: want)
            let n = fresh.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, want, off_t(offset)) }
            guard n >= 0 else { throw Failure(description: "journal read: \(String(cString: strerror(errno)))") }
            fresh.removeLast(want - n)
            chunk = fresh
            chunkAt = offset
            return JournalFile.record(chunk, at: 0).map { ($0.0, chunkAt + $0.end) }
        }
    }
}
