/// One accepted or offered GPS fix of a vehicle, already in WGS-84.
public struct Fix: Sendable, Equatable, Codable {
    public var ts: Millis
    public var lat: Double
    public var lon: Double
    public init(ts: Millis, lat: Double, lon: Double) { self.ts = ts; self.lat = lat; self.lon = lon }
}

/// A position as it leaves a parser: the vehicle as its interned number, optional fields NaN when absent.
public struct Position: Sendable {
    public var vehicle: Int32
    public var ts: Millis
    public var lat: Double
    public var lon: Double
    public var speedKmh: Float
    public var heading: Float
    public var accuracyM: Float

    public init(vehicle: Int32, ts: Millis, lat: Double, lon: Double,
                speedKmh: Float = .nan, heading: Float = .nan, accuracyM: Float = .nan) {
        self.vehicle = vehicle; self.ts = ts; self.lat = lat; self.lon = lon
        self.speedKmh = speedKmh; self.heading = heading; self.accuracyM = accuracyM
    }

    public var fix: Fix { Fix(ts: ts, lat: lat, lon: lon) }
}

/// Why a position was not fed to visit detection (SPEC §3.3). Each is counted.
public enum RejectReason: String, Sendable, CaseIterable, Hashable {
    case unparsable
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case tooLarge = "too_large"
    case outOfRange = "out_of_range"
    case nullIsland = "zero_position"
    case invalidFix = "invalid_fix"
    case future
    case duplicate
    case late
    case outlier
    /// A vehicle id too long, with a control character, or not UTF-8 (`VehicleIdCheck`).
    case badVehicleId = "bad_vehicle_id"

    @inline(__always)
    var slot: Int {
        switch self {
        case .unparsable: return 0
        case .missingField: return 1
        case .wrongType: return 2
        case .tooLarge: return 3
        case .outOfRange: return 4
        case .nullIsland: return 5
        case .invalidFix: return 6
        case .future: return 7
        case .duplicate: return 8
        case .late: return 9
        case .outlier: return 10
        case .badVehicleId: return 11
        }
    }

    /// Rejections whose raw payload belongs in the dead-letter table (the rest are valid positions
    /// that visit detection does not use).
    public var isDeadLetter: Bool {
        switch self {
        case .duplicate, .late, .outlier: return false
        default: return true
        }
    }
}

/// Counts per `RejectReason`, a fixed array so counting costs an increment.
public struct RejectCounts: Sendable, Equatable, Codable {
    private var counts = [Int](repeating: 0, count: RejectReason.allCases.count)
    private static let order = RejectReason.allCases

    public init() {}

    // A checkpoint from before a reason was added holds fewer counts: the rest are 0.
    private enum CodingKeys: String, CodingKey { case counts }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let stored = try c.decode([Int].self, forKey: .counts)
        let n = RejectReason.allCases.count
        counts = Array(stored.prefix(n)) + [Int](repeating: 0, count: max(0, n - stored.count))
    }

    public subscript(_ r: RejectReason) -> Int {
        get { counts[r.slot] }
        set { counts[r.slot] = newValue }
    }

    @inline(__always)
    public mutating func add(_ r: RejectReason, _ n: Int = 1) { self[r] += n }

    public var total: Int { counts.reduce(0, +) }

    public mutating func merge(_ other: RejectCounts) {
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    public var nonZero: [(RejectReason, Int)] {
        Self.order.enumerated().compactMap { counts[$0.offset] > 0 ? ($0.element, counts[$0.offset]) : nil }
    }
}

/// The checks a single position passes before any state is touched (SPEC §3.3).
public enum PositionCheck {
    @inline(__always)
    public static func validate(lat: Double, lon: Double) -> RejectReason? {
        guard lat.isFinite, lon.isFinite, Geo.isValid(lat: lat, lon: lon) else { return .outOfRange }
        if lat == 0 && lon == 0 { return .nullIsland }
        return nil
    }
}

/// What a vehicle id may be, on every path a position comes in (MQTT payloads and topics, trace
/// files): at most `maxBytes` of UTF-8 with no control character. A NUL in an id truncated it in
/// SQLite, so store, MQTT and API named one tracker differently; 2,000 ids of 10 KB took the
/// engine's checkpoint from 36 KB to 20.7 MB.
public enum VehicleIdCheck {
    public static let maxBytes = 64

    /// Why these bytes cannot be a vehicle id, or nil when they can.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.count > maxBytes { return "vehicle id of \(b.count) bytes is over \(maxBytes)" }
        var ascii = true
        for c in b {
            if c < 0x20 || c == 0x7f { return "vehicle id holds a control character" }
            if c >= 0x80 { ascii = false }
        }
        if !ascii && String(validating: b, as: UTF8.self) == nil { return "vehicle id is not UTF-8" }
        return nil
    }

    public static func problem(_ bytes: [UInt8]) -> String? { bytes.withUnsafeBufferPointer { problem($0) } }
}

