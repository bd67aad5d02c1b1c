import Foundation

/// Answers "which sites lie within the margin of this point" without scanning.
///
/// A hierarchical grid in degrees: level L has cells of 4^L / 1024° (about 110 m, 440 m, 1.7 km,
/// 7 km … north–south). Each site goes into the finest level at which its box, grown by the margin,
/// spans at most four cells a side, so a 20 m workshop and a 2 km industrial park both occupy a
/// handful of cells. A query looks up one cell per occupied level in an open-addressing table and
/// checks the few sites listed there: a lookup costs the same for 1,000 or 1,000,000 sites. Built
/// once, read-only afterwards, so it is shared between threads without locks.
public struct SiteIndex: Sendable {
    public let margin: Double
    public let geometries: [SiteGeometry]
    /// Each site's box grown by the margin.
    let boxes: [GeoBox]
    let areas: [Double]
    let table: CellTable
    /// Site numbers listed cell by cell; a cell's run is `entries[start ..< start + count]`.
    let entries: [Int32]
    let occupiedLevels: [Int]

    static let baseCellDeg = 1.0 / 1024.0
    static let levels = 8
    static let maxCellsPerAxis = 4

    static func cellDeg(_ level: Int) -> Double { baseCellDeg * Double(1 << (2 * level)) }

    @inline(__always)
    static func key(_ level: Int, _ ix: Int, _ iy: Int) -> UInt64 {
        (UInt64(level) << 48) | (UInt64(ix + (1 << 23)) << 24) | UInt64(iy + (1 << 23))
    }

    /// `geometries[i]` is site number i; numbers are the caller's (the registry orders them by id).
    public init(geometries: [SiteGeometry], margin: Double) {
        self.margin = margin
        self.geometries = geometries
        self.boxes = geometries.map { $0.box.expanded(byMetres: margin + 0.01) }
        self.areas = geometries.map(\.areaM2)
        var pairs: [(UInt64, Int32)] = []
        pairs.reserveCapacity(geometries.count * 2)
        var levelsUsed = Set<Int>()
        for (i, b) in boxes.enumerated() {
            var level = 0
            while level < Self.levels - 1 {
                let inv = 1 / Self.cellDeg(level)
                let nx = Int((b.maxLon * inv).rounded(.down)) - Int((b.minLon * inv).rounded(.down)) + 1
                let ny = Int((b.maxLat * inv).rounded(.down)) - Int((b.minLat * inv).rounded(.down)) + 1
                if nx <= Self.maxCellsPerAxis && ny <= Self.maxCellsPerAxis { break }
                level += 1
            }
            levelsUsed.insert(level)
            let inv = 1 / Self.cellDeg(level)
            for ix in Int((b.minLon * inv).rounded(.down))...Int((b.maxLon * inv).rounded(.down)) {
                for iy in Int((b.minLat * inv).rounded(.down))...Int((b.maxLat * inv).rounded(.down)) {
                    pairs.append((Self.key(level, ix, iy), Int32(i)))
                }
            }
        }
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var entries: [Int32] = []
        entries.reserveCapacity(pairs.count)
        var runs: [(UInt64, UInt32, UInt32)] = []
        var k = 0
        while k < pairs.count {
            let key = pairs[k].0
            let start = entries.count
            while k < pairs.count && pairs[k].0 == key { entries.append(pairs[k].1); k += 1 }
            runs.append((key, UInt32(start), UInt32(entries.count - start)))
        }
        self.entries = entries
        self.table = CellTable(runs: runs)
        self.occupiedLevels = levelsUsed.sorted()
    }

    public var count: Int { geometries.count }

    /// The site a position is "at" (SPEC §4.1): within the margin; the nearest wins (0 inside), then
    /// the smaller area, then the lower site number.
    @inline(__always)
    public func bestSite(lat: Double, lon: Double) -> Int32? {
        var best: Int32 = -1
        var bestD = Double.infinity, bestA = Double.infinity
        for level in occupiedLevels {
            let inv = 1 / Self.cellDeg(level)
            let k = Self.key(level, Int((lon * inv).rounded(.down)), Int((lat * inv).rounded(.down)))
            guard let run = table.find(k) else { continue }
            for e in Int(run.start)..<Int(run.start + run.count) {
                let s = Int(entries[e])
                guard boxes[s].contains(lat: lat, lon: lon),
                      let d = geometries[s].distanceIfWithin(lat: lat, lon: lon, margin: margin) else { continue }
                let a = areas[s]
                if d < bestD || (d == bestD && (a < bestA || (a == bestA && Int32(s) < best))) {
                    best = Int32(s); bestD = d; bestA = a
                }
            }
        }
        return best >= 0 ? best : nil
    }

    /// Every site within the margin of the point, in site-number order.
    public func sitesAt(lat: Double, lon: Double) -> [Int32] {
        var out: [Int32] = []
        for level in occupiedLevels {
            let inv = 1 / Self.cellDeg(level)
            let k = Self.key(level, Int((lon * inv).rounded(.down)), Int((lat * inv).rounded(.down)))
            guard let run = table.find(k) else { continue }
            for e in Int(run.start)..<Int(run.start + run.count) {
                let s = Int(entries[e])
                if boxes[s].contains(lat: lat, lon: lon),
                   geometries[s].isWithin(lat: lat, lon: lon, margin: margin) { out.append(Int32(s)) }
            }
        }
        return out.sorted()
    }

    /// Sites within `radius` metres of the point (any radius), with their distances, nearest first.
    public func sites(within radius: Double, lat: Double, lon: Double) -> [(site: Int32, distanceM: Double)] {
        let probe = GeoBox(minLat: lat, minLon: lon, maxLat: lat, maxLon: lon).expanded(byMetres: radius)
        var seen = Set<Int32>()
        var out: [(site: Int32, distanceM: Double)] = []
        for level in occupiedLevels {
            let inv = 1 / Self.cellDeg(level)
            let x0 = Int((probe.minLon * inv).rounded(.down)), x1 = Int((probe.maxLon * inv).rounded(.down))
            let y0 = Int((probe.minLat * inv).rounded(.down)), y1 = Int((probe.maxLat * inv).rounded(.down))
            for ix in x0...x1 {
                for iy in y0...y1 {
                    guard let run = table.find(Self.key(level, ix, iy)) else { continue }
                    for e in Int(run.start)..<Int(run.start + run.count) {
                        let s = entries[e]
                        guard !seen.contains(s) else { continue }
                        seen.insert(s)
                        let d = geometries[Int(s)].distanceM(lat: lat, lon: lon)
                        if d <= radius { out.append((s, d)) }
                    }
                }
            }
        }
        return out.sorted { $0.distanceM != $1.distanceM ? $0.distanceM < $1.distanceM : $0.site < $1.site }
    }

    /// Whether the point is within the margin of site `s`: the check an open stay makes, no lookup.
    @inline(__always)
    public func isAt(site s: Int32, lat: Double, lon: Double) -> Bool {
        let i = Int(s)
        return boxes[i].contains(lat: lat, lon: lon) && geometries[i].isWithin(lat: lat, lon: lon, margin: margin)
    }

    public func distanceM(site s: Int32, lat: Double, lon: Double) -> Double {
        geometries[Int(s)].distanceM(lat: lat, lon: lon)
    }
}

/// Open-addressing hash table from a cell key to its run of site numbers.
struct CellTable: Sendable {
    private var keys: [UInt64]
    private var starts: [UInt32]
    private var counts: [UInt32]
    private let mask: Int
    private static let empty = UInt64.max

    init(runs: [(UInt64, UInt32, UInt32)]) {
        var cap = 16
        while cap < runs.count * 2 { cap <<= 1 }
        mask = cap - 1
        keys = Array(repeating: Self.empty, count: cap)
        starts = Array(repeating: 0, count: cap)
        counts = Array(repeating: 0, count: cap)
        for (k, s, c) in runs {
            var slot = Self.slot(k, mask)
            while keys[slot] != Self.empty { slot = (slot + 1) & mask }
            keys[slot] = k; starts[slot] = s; counts[slot] = c
        }
    }

    @inline(__always)
    static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    @inline(__always)
    func find(_ k: UInt64) -> (start: UInt32, count: UInt32)? {
        var slot = Self.slot(k, mask)
        return keys.withUnsafeBufferPointer { kp in
            while true {
                let here = kp[slot]
                if here == k { return (starts[slot], counts[slot]) }
                if here == Self.empty { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}
