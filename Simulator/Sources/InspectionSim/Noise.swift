import Foundation
import InspectionCore

/// Noise laid over the traces as they are written (the ground truth stays that of the clean plan).
/// Each is a share of lines (0…1) except where a unit is named.
public struct Noise: Sendable, Equatable {
    /// GPS error: each coordinate offset by a normal error with this standard deviation, metres.
    public var jitterM = 0.0
    /// Lines left out (messages lost).
    public var drop = 0.0
    /// Lines written twice (a tracker resending).
    public var duplicate = 0.0
    /// Lines written 100–1,000 lines later (messages held up in a gateway).
    public var delay = 0.0
    /// Lines swapped with the next one (messages overtaking each other).
    public var reorder = 0.0
    /// Lines garbled (a broken payload): a letter in the latitude, a field missing, or cut short.
    public var corrupt = 0.0
    /// Tracker clocks off by up to this many seconds, one fixed offset per vehicle.
    public var clockSkewS = 0

    public init() {}

    public var isNone: Bool { self == Noise() }
}

/// What noise did to the lines written, for the summary.
public struct NoiseCounts: Sendable {
    public var lines = 0
    public var dropped = 0
    public var duplicated = 0
    public var delayed = 0
    public var reordered = 0
    public var corrupted = 0
}

/// Writes the traces: one CSV per local day (SPEC §3.2 header with speed), lines in time order,
/// then vehicle order; noise applied on the way.
public struct TraceWriter {
    public let noise: Noise
    var rng: SplitMix64
    public private(set) var counts = NoiseCounts()

    public init(noise: Noise, seed: UInt64) {
        self.noise = noise
        rng = SplitMix64(seed: seed ^ 0x6E6F_6973_6500_0000)
    }

    /// The bytes of each day's file, in day order.
    public mutating func files(_ s: Scenario) -> [(name: String, bytes: [UInt8])] {
        let skew: [Int64] = s.vehicleIds.indices.map { _ in
            noise.clockSkewS > 0 ? Int64(rng.next() % UInt64(2 * noise.clockSkewS + 1)) - Int64(noise.clockSkewS) : 0
        }
        var cursor = [Int](repeating: 0, count: s.tracks.count)
        var out: [(String, [UInt8])] = []
        for d in 0..<s.days {
            let end = Int64(s.calendar.startOfDay(s.firstDay + d + 1) / 1000)
            var rows: [(ts: Int64, v: Int32, i: Int32)] = []
            for v in s.tracks.indices {
                var i = cursor[v]
                let fixes = s.tracks[v]
                while i < fixes.count && (fixes[i].ts < end || d == s.days - 1) {
                    rows.append((fixes[i].ts, Int32(v), Int32(i)))
                    i += 1
                }
                cursor[v] = i
            }
            rows.sort { $0.ts != $1.ts ? $0.ts < $1.ts : $0.v < $1.v }
            var bytes: [UInt8] = Array("vehicle_id,ts,lat,lon,speed_kmh\n".utf8)
            bytes.reserveCapacity(rows.count * 48)
            var held: [(due: Int, line: [UInt8])] = []
            var swap: [UInt8]? = nil
            var line: [UInt8] = []
            for (n, r) in rows.enumerated() {
                var f = s.tracks[Int(r.v)][Int(r.i)]
                f.ts += skew[Int(r.v)]
                if noise.jitterM > 0 { jitter(&f) }
                format(s.vehicleIds[Int(r.v)], f, into: &line)
                counts.lines += 1
                if noise.corrupt > 0 && rng.unit() < noise.corrupt { corrupt(&line); counts.corrupted += 1 }
                if noise.drop > 0 && rng.unit() < noise.drop { counts.dropped += 1; continue }
                var copies = 1
                if noise.duplicate > 0 && rng.unit() < noise.duplicate { copies = 2; counts.duplicated += 1 }
                for _ in 0..<copies {
                    if noise.delay > 0 && rng.unit() < noise.delay {
                        held.append((n + 100 + Int(rng.next() % 901), line)); counts.delayed += 1
                    } else if noise.reorder > 0 && swap == nil && rng.unit() < noise.reorder {
                        swap = line; counts.reordered += 1
                    } else {
                        bytes += line
                        if let s = swap { bytes += s; swap = nil }
                    }
                }
                while let k = held.firstIndex(where: { $0.due <= n }) { bytes += held.remove(at: k).line }
            }
            if let s = swap { bytes += s }
            for h in held { bytes += h.line }
            out.append(("day-" + Timestamp.pad(d + 1, 2) + ".csv", bytes))
        }
        return out
    }

    mutating func jitter(_ f: inout SimFix) {
        // Box–Muller: two independent normal offsets, metres → 1e-7 degrees.
        let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
        let r = noise.jitterM * (-2 * log(u1)).squareRoot()
        let dy = r * cos(2 * .pi * u2), dx = r * sin(2 * .pi * u2)
        f.lat7 += Int32((dy / Geo.metresPerDegree * 1e7).rounded())
        f.lon7 += Int32((dx / (Geo.metresPerDegree * cos(f.lat * .pi / 180)) * 1e7).rounded())
    }

    func format(_ vehicle: String, _ f: SimFix, into line: inout [UInt8]) {
        line.removeAll(keepingCapacity: true)
        line += vehicle.utf8
        line.append(44)
        PayloadEncoder.appendInt(f.ts, to: &line)
        line.append(44)
        PayloadEncoder.appendFixed(f.lat, digits: 7, to: &line)
        line.append(44)
        PayloadEncoder.appendFixed(f.lon, digits: 7, to: &line)
        line.append(44)
        PayloadEncoder.appendFixed(Double(f.speed10) / 10, digits: 1, to: &line)
        line.append(10)
    }

    mutating func corrupt(_ line: inout [UInt8]) {
        let commas = line.indices.filter { line[$0] == 44 }
        switch rng.next() % 3 {
        case 0: line.insert(UInt8(ascii: "x"), at: commas[1] + 2)  // a letter in the latitude
        case 1: line.removeSubrange((commas[1] + 1)..<commas[2])    // the latitude empty
        default: line = Array(line[..<commas[2]]) + [10]           // cut short
        }
    }
}
