/// A vehicle's recent fixes, with the state its track had before each run of them: what a late
/// position needs to work the track out again from just before it (SPEC §3.4).
///
/// The fixes are every one offered to the track in time order (outliers included: they are input
/// replay sees too), in chunks of `chunkFixes`, each chunk encoded compactly (`FixCoder`) and
/// carrying a copy of the track from before its first fix. Chunks wholly older than the late
/// horizon are dropped as new ones begin, so a vehicle keeps about its horizon's worth.
public struct TrackHistory: Sendable, Codable {
    struct Chunk: Sendable, Codable {
        /// The track before the chunk's first fix.
        var before: VehicleTrack
        var first: Millis
        /// Where the encoding stands after the chunk's last fix (its time is the last fix's).
        var coder: FixCoder.State
        var count: Int32
        var bytes: FixCoder.Bytes
        /// Set once the chunk is full (it never changes after): a digest of all of it, the id
        /// it is stored under apart from the engine's checkpoint.
        var id: UInt64?
        var lastTs: Millis { coder.ts }

        /// FNV-1a over the state before, the fixes and their count.
        func digest() -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            before.digest(into: &h)
            for b in bytes.storage { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
            for v in [UInt64(bitPattern: first), UInt64(count)] {
                for k in 0..<8 { h ^= (v >> (8 * UInt64(k))) & 0xff; h = h &* 0x100_0000_01b3 }
            }
            return h
        }

        @inline(__always)
        mutating func add(_ f: Fix) {
            FixCoder.append(f, state: &coder, to: &bytes)
            count += 1
        }
    }

    var chunks: [Chunk] = []
    /// In a checkpoint that keeps the full chunks apart (`EngineCheckpoint.keepingFullChunksApart`):
    /// their ids, oldest first, `chunks` holding only the one being filled.
    var apart: [UInt64]?

    /// Fixes a chunk holds before the next begins: a copy of the track per this many fixes, and
    /// at most this many fixes fed again beyond those after a late one.
    static let chunkFixes: Int32 = 256

    public init() {}

    /// Fixes kept.
    public var count: Int { chunks.reduce(0) { $0 + Int($1.count) } }
    /// Bytes the encoded fixes take.
    public var encodedBytes: Int { chunks.reduce(0) { $0 + $1.bytes.storage.count } }
    /// The oldest fix kept.
    public var oldest: Millis? { chunks.first?.first }

    /// Whether the next fix begins a chunk (the caller then passes the track's state to `append`).
    @inline(__always)
    var startsChunk: Bool { chunks.isEmpty || chunks[chunks.count - 1].count >= Self.chunkFixes }

    /// A fix newer than every one kept. `before` is the track's state before it, read only when
    /// the fix begins a chunk; chunks wholly older than `horizonStart` go then.
    @inline(__always)
    mutating func append(_ f: Fix, before: @autoclosure () -> VehicleTrack, horizonStart: Millis) {
        if startsChunk {
            if let i = chunks.indices.last, chunks[i].id == nil {
                // Full: its bytes keep no room to grow (an array grows by doubling), and it gets
                // the id it is stored under.
                chunks[i].bytes.storage = Array(chunks[i].bytes.storage[...])
                chunks[i].id = chunks[i].digest()
            }
            var dropped = 0
            while dropped < chunks.count && chunks[dropped].lastTs < horizonStart { dropped += 1 }
            if dropped > 0 { chunks.removeFirst(dropped) }
            var bytes = FixCoder.Bytes()
            bytes.storage.reserveCapacity(Int(Self.chunkFixes) * 4)
            var chunk = Chunk(before: before(), first: f.ts, coder: FixCoder.State(), count: 0, bytes: bytes)
            chunk.add(f)
            chunks.append(chunk)
            return
        }
        chunks[chunks.count - 1].add(f)
    }

    /// The chunk to work again from for a fix at `ts`: the last that begins at or before it, else
    /// the first.
    func chunk(for ts: Millis) -> Int {
        var lo = 0, hi = chunks.count - 1
        guard hi >= 0, chunks[0].first <= ts else { return 0 }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if chunks[mid].first <= ts { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The fixes of chunk `c` and every later one, in time order.
    func fixes(from c: Int) -> [Fix] {
        var out: [Fix] = []
        out.reserveCapacity(chunks[c...].reduce(0) { $0 + Int($1.count) } + 64)
        for k in c..<chunks.count { FixCoder.decode(chunks[k].bytes, count: Int(chunks[k].count), into: &out) }
        return out
    }

    /// Drops chunk `c` and every later one (they are about to be written again).
    mutating func truncate(from c: Int) { chunks.removeSubrange(c...) }
}

/// A full chunk of a vehicle's kept fixes, as the daemon stores it apart from the engine's
/// checkpoint (it never changes once full, so it is written once).
public struct HistoryChunk: Sendable, Codable {
    let chunk: TrackHistory.Chunk
}

extension EngineCheckpoint {
    /// This checkpoint with every full chunk of kept fixes replaced by its id, and those chunks.
    /// Saved every `checkpoint_interval`, the rest is small: the chunks being filled, the tracks,
    /// the occasions; a full chunk is stored once.
    public func keepingFullChunksApart() -> (EngineCheckpoint, [(id: UInt64, chunk: HistoryChunk)]) {
        guard let histories else { return (self, []) }
        var slim = self
        var apart: [(id: UInt64, chunk: HistoryChunk)] = []
        slim.histories = histories.map { h in
            var h = h
            let full = h.chunks.prefix { $0.id != nil }
            h.apart = full.map { $0.id! }
            apart += full.map { ($0.id!, HistoryChunk(chunk: $0)) }
            h.chunks.removeFirst(full.count)
            return h
        }
        return (slim, apart)
    }

    /// The ids of the chunks kept apart.
    public var chunkIds: [UInt64] { histories?.flatMap { $0.apart ?? [] } ?? [] }

    /// The chunks kept apart put back (`chunk` reads one by id). A vehicle one of whose chunks
    /// cannot be read keeps no history: its late positions before now are then too old. Returns
    /// how many vehicles that was.
    public mutating func puttingChunksBack(_ chunk: (UInt64) -> HistoryChunk?) -> Int {
        guard var hs = histories else { return 0 }
        var lost = 0
        for v in hs.indices {
            guard let ids = hs[v].apart else { continue }
            let found = ids.compactMap { chunk($0)?.chunk }
            if found.count == ids.count {
                hs[v].chunks = found + hs[v].chunks
            } else {
                hs[v].chunks = []
                lost += 1
            }
            hs[v].apart = nil
        }
        histories = hs
        return lost
    }
}

/// Fixes as bytes: each a varint head — its time step, whole seconds when it is one, and two
/// flags — then its latitude and longitude as zigzag varints of their step in 1e-7 degrees (in
/// 1e-6 when both steps are whole 1e-6: JT/T 808's precision); or, when a coordinate is not
/// exactly a multiple of 1e-7 degrees as a Double reads it back, both as their 8 raw bytes.
/// Lossless either way, so a track worked out again from these fixes is the track their original
/// values gave. A JT/T 808 vehicle reporting every 15 s takes 3–5 bytes a fix.
public enum FixCoder {
    /// The encoded bytes; Codable as base64 (a checkpoint is JSON).
    public struct Bytes: Sendable, Codable {
        var storage: [UInt8] = []
        init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "fix chunk is not base64")
            }
            storage = bytes
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(Base64.encode(storage))
        }
    }

    /// What the next step is from: the last fix's time and 1e-7 degrees.
    public struct State: Sendable, Codable, Equatable {
        var ts: Millis = 0
        var qa: Int64 = 0
        var qo: Int64 = 0
    }

    static let scale = 1e7
    static let rawFlag: UInt64 = 1, seconds: UInt64 = 2, micro: UInt64 = 4

    /// The coordinate in 1e-7 degrees, if that number of them is exactly `v` again.
    @inline(__always)
    static func quantized(_ v: Double) -> Int64? {
        let q = (v * scale).rounded()
        guard abs(q) < 4e9 else { return nil }
        let n = Int64(q)
        return Double(n) / scale == v ? n : nil
    }

    @inline(__always)
    static func append(_ f: Fix, state: inout State, to out: inout Bytes) {
        let dt = f.ts &- state.ts
        var flags: UInt64 = 0
        var step = UInt64(bitPattern: dt)
        if dt % 1000 == 0 { flags |= seconds; step = UInt64(bitPattern: dt / 1000) }
        if let qa = quantized(f.lat), let qo = quantized(f.lon) {
            var da = qa &- state.qa, dn = qo &- state.qo
            if da % 10 == 0 && dn % 10 == 0 { flags |= micro; da /= 10; dn /= 10 }
            varint(step << 3 | flags, &out.storage)
            varint(zigzag(da), &out.storage)
            varint(zigzag(dn), &out.storage)
            state = State(ts: f.ts, qa: qa, qo: qo)
        } else {
            varint(step << 3 | flags | rawFlag, &out.storage)
            raw(f.lat.bitPattern, &out.storage)
            raw(f.lon.bitPattern, &out.storage)
            // The next step is from this fix's own 1e-7 degrees, where it has them.
            state = State(ts: f.ts, qa: quantized(f.lat) ?? 0, qo: quantized(f.lon) ?? 0)
        }
    }

    static func decode(_ bytes: Bytes, count: Int, into out: inout [Fix]) {
        bytes.storage.withUnsafeBufferPointer { b in
            var p = 0
            var state = State()
            for _ in 0..<count {
                let head = readVarint(b, &p)
                let step = Int64(bitPattern: head >> 3)
                state.ts = state.ts &+ (head & seconds != 0 ? step &* 1000 : step)
                if head & rawFlag == 0 {
                    let k: Int64 = head & micro != 0 ? 10 : 1
                    state.qa = state.qa &+ unzigzag(readVarint(b, &p)) &* k
                    state.qo = state.qo &+ unzigzag(readVarint(b, &p)) &* k
                    out.append(Fix(ts: state.ts, lat: Double(state.qa) / scale, lon: Double(state.qo) / scale))
                } else {
                    let lat = Double(bitPattern: readRaw(b, &p)), lon = Double(bitPattern: readRaw(b, &p))
                    state.qa = quantized(lat) ?? 0
                    state.qo = quantized(lon) ?? 0
                    out.append(Fix(ts: state.ts, lat: lat, lon: lon))
                }
            }
        }
    }

    @inline(__always) static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    @inline(__always) static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    @inline(__always)
    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    @inline(__always)
    static func readVarint(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while p < b.count {
            let c = b[p]
            p += 1
            v |= UInt64(c & 0x7f) << shift
            if c < 0x80 { break }
            shift += 7
        }
        return v
    }

    static func raw(_ v: UInt64, _ out: inout [UInt8]) { for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }

    static func readRaw(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 where p < b.count { v |= UInt64(b[p]) << (8 * UInt64(k)); p += 1 }
        return v
    }
}

/// RFC 4648 base64, for bytes in a JSON checkpoint (Foundation is not used by the core).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < b.count {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int(n >> UInt32(s) & 63)]) }
            i += 3
        }
        let rest = b.count - i
        if rest > 0 {
            let n = UInt32(b[i]) << 16 | (rest > 1 ? UInt32(b[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest > 1 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: String) -> [UInt8]? {
        var values = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { values[Int(c)] = UInt8(i) }
        var out: [UInt8] = []
        var acc: UInt32 = 0, bits = 0
        for c in s.utf8 {
            if c == UInt8(ascii: "=") { break }
            let v = values[Int(c)]
            guard v != 255 else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits))) }
        }
        return out
    }
}
