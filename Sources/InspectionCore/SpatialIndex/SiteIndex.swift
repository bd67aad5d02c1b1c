import CPrefetch
import Foundation

/// Answers "which sites lie within the margin of this point" without scanning.
///
/// A hierarchical grid in degrees: level L has cells of 4^L / 1024° (about 110 m, 440 m, 1.7 km,
/// 7 km … north–south). Each site goes into the finest level at which its box, grown by the margin,
/// spans at most eight cells a side, so a 20 m workshop sits in one to four cells of the finest
/// level and a 2 km industrial park in a few dozen of the next. A query looks up one cell per
/// occupied level in an open-addressing table and reads that cell's run of candidates, each
/// carrying its box, so the few that can match are found in contiguous memory; only those touch
/// the site's outline. All outlines are packed into shared arrays (no per-site allocation, no
/// reference counting on the hot path). Built once and read-only afterwards, so threads share it
/// without locks.
public final class SiteIndex: Sendable {
    public let margin: Double
    /// Every site's outline in one arena, each a `Blob`: its header, then its ring boundaries,
    /// then its vertices, so testing a site reads one stretch of memory.
    let arena: [Float]
    /// Where each site's blob starts in `arena`.
    let offsets: [Int32]
    /// Each site's box in degrees, without margin.
    let boxes: [GeoBox]
    /// One lookup structure per occupied level.
    let grids: [LevelGrid]
    /// Candidates listed cell by cell; a cell's run is `entries[start ..< start + count]`.
    let entries: [CellEntry]

    static let baseCellDeg = 1.0 / 1024.0
    static let levels = 8
    static let maxCellsPerAxis = 8

    static func cellDeg(_ level: Int) -> Double { baseCellDeg * Double(1 << (2 * level)) }

    @inline(__always)
    static func key(_ level: Int, _ ix: Int, _ iy: Int) -> UInt64 {
        (UInt64(level) << 48) | (UInt64(ix + (1 << 23)) << 24) | UInt64(iy + (1 << 23))
    }

    /// Layout of a site's blob in the arena (`Float` slots, so a typical site fits in two cache
    /// lines and 100,000 sites in the last-level cache): these header slots, then `ringCount + 1`
    /// ring boundaries (in points, relative to the vertices), then the interleaved local vertices.
    /// The origin and the area need more than a `Float` holds, so each is two: a value and the
    /// rest. Local vertices are metres from the site's centre: a `Float` keeps them to 0.1 mm at
    /// 1 km.
    enum Blob {
        static let lat0 = 0, lon0 = 2, area = 4, kx = 6, ky = 7, minX = 8, minY = 9, maxX = 10, maxY = 11
        static let radius = 12, ringCount = 13, circle = 14, header = 16

        static func split(_ d: Double) -> [Float] {
            let hi = Float(d)
            return [hi, Float(d - Double(hi))]
        }

        @inline(__always)
        static func double(_ a: UnsafeBufferPointer<Float>, _ i: Int) -> Double { Double(a[i]) + Double(a[i + 1]) }
    }

    /// A candidate in a cell: the site, where its blob is, and its box grown by the margin in
    /// `Float` rounded outwards (a pre-filter; the exact test follows).
    struct CellEntry: Sendable {
        var minLat: Float, minLon: Float, maxLat: Float, maxLon: Float
        var site: Int32
        var offset: Int32

        @inline(__always)
        func contains(_ lat: Float, _ lon: Float) -> Bool {
            lat >= minLat && lat <= maxLat && lon >= minLon && lon <= maxLon
        }
    }

    /// `geometries[i]` is site number i; numbers are the caller's (the registry orders them by id).
    public init(geometries: [SiteGeometry], margin: Double) {
        self.margin = margin
        var arena: [Float] = []
        arena.reserveCapacity(geometries.reduce(0) { $0 + Blob.header + $1.ringStarts.count + $1.points.count })
        var offsets: [Int32] = []
        offsets.reserveCapacity(geometries.count)
        for g in geometries {
            offsets.append(Int32(arena.count))
            arena += Blob.split(g.lat0) + Blob.split(g.lon0) + Blob.split(g.areaM2)
            arena += [Float(g.kx), Float(g.ky), Float(g.minX).nextDown, Float(g.minY).nextDown, Float(g.maxX).nextUp,
                      Float(g.maxY).nextUp, Float(g.radius), Float(g.ringStarts.count - 1), g.form == .circle ? 1 : 0, 0]
            arena += g.ringStarts.map(Float.init)
            arena += g.points.map(Float.init)
        }
        self.arena = arena
        self.offsets = offsets
        self.boxes = geometries.map(\.box)

        var pairs: [(UInt64, CellEntry)] = []
        pairs.reserveCapacity(geometries.count * 4)
        for (i, g) in geometries.enumerated() {
            // Within the world whatever the margin: cell numbers stay far from Int's bounds.
            var b = g.box.expanded(byMetres: margin + 0.01)
            b.minLat = max(-90, b.minLat); b.maxLat = min(90, b.maxLat)
            b.minLon = max(-180, b.minLon); b.maxLon = min(180, b.maxLon)
            var level = 0
            while level < Self.levels - 1 {
                let inv = 1 / Self.cellDeg(level)
                let nx = Int((b.maxLon * inv).rounded(.down)) - Int((b.minLon * inv).rounded(.down)) + 1
                let ny = Int((b.maxLat * inv).rounded(.down)) - Int((b.minLat * inv).rounded(.down)) + 1
                if nx <= Self.maxCellsPerAxis && ny <= Self.maxCellsPerAxis { break }
                level += 1
            }
            let entry = CellEntry(minLat: Float(b.minLat).nextDown, minLon: Float(b.minLon).nextDown,
                                  maxLat: Float(b.maxLat).nextUp, maxLon: Float(b.maxLon).nextUp, site: Int32(i),
                                  offset: offsets[i])
            let inv = 1 / Self.cellDeg(level)
            for ix in Int((b.minLon * inv).rounded(.down))...Int((b.maxLon * inv).rounded(.down)) {
                for iy in Int((b.minLat * inv).rounded(.down))...Int((b.maxLat * inv).rounded(.down)) {
                    pairs.append((Self.key(level, ix, iy), entry))
                }
            }
        }
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.site < $1.1.site }
        var entries: [CellEntry] = []
        entries.reserveCapacity(pairs.count)
        var runsByLevel: [Int: [(ix: Int, iy: Int, key: UInt64, start: UInt32, count: UInt32)]] = [:]
        var k = 0
        while k < pairs.count {
            let key = pairs[k].0
            let start = entries.count
            while k < pairs.count && pairs[k].0 == key { entries.append(pairs[k].1); k += 1 }
            let level = Int(key >> 48)
            let ix = Int((key >> 24) & 0xFF_FFFF) - (1 << 23), iy = Int(key & 0xFF_FFFF) - (1 << 23)
            runsByLevel[level, default: []].append((ix, iy, key, UInt32(start), UInt32(entries.count - start)))
        }
        self.entries = entries
        self.grids = runsByLevel.keys.sorted().map { LevelGrid(level: $0, runs: runsByLevel[$0]!) }
    }

    /// Each site's box in degrees (no margin).
    public func box(_ s: Int32) -> GeoBox { boxes[Int(s)] }

    /// Calls `body` with every candidate (site, blob offset) whose grown box holds the point.
    @inline(__always)
    private func forEachCandidate(lat: Double, lon: Double, _ body: (Int32, Int) -> Void) {
        let flat = Float(lat), flon = Float(lon)
        entries.withUnsafeBufferPointer { es in
            for grid in grids {
                guard let run = grid.find(lat: lat, lon: lon) else { continue }
                for e in Int(run.start)..<Int(run.start + run.count) where es[e].contains(flat, flon) {
                    body(es[e].site, Int(es[e].offset))
                }
            }
        }
    }

    /// The site a position is "at" (SPEC §4.1): within the margin; the nearest wins (0 inside), then
    /// the smaller area, then the lower site number.
    @inline(__always)
    public func bestSite(lat: Double, lon: Double) -> Int32? { bestCandidate(lat: lat, lon: lon)?.site }

    /// `bestSite` with where the site's outline is (`blobOffset`): a stay that opens on it tests
    /// its next fixes there without another read.
    @inline(__always)
    public func bestCandidate(lat: Double, lon: Double) -> (site: Int32, blob: Int)? {
        var best: Int32 = -1, bestBlob = 0
        var bestD = Double.infinity, bestA = Double.infinity
        forEachCandidate(lat: lat, lon: lon) { s, o in
            guard let d = distanceIfWithin(blob: o, lat: lat, lon: lon, limit: margin) else { return }
            let a = arena.withUnsafeBufferPointer { Blob.double($0, o + Blob.area) }
            if d < bestD || (d == bestD && (a < bestA || (a == bestA && s < best))) {
                best = s; bestBlob = o; bestD = d; bestA = a
            }
        }
        return best >= 0 ? (best, bestBlob) : nil
    }

    /// Every site within the margin of the point, in site-number order.
    public func sitesAt(lat: Double, lon: Double) -> [Int32] {
        var out: [Int32] = []
        forEachCandidate(lat: lat, lon: lon) { s, o in
            if isWithin(blob: o, lat: lat, lon: lon, limit: margin) { out.append(s) }
        }
        return out.sorted()
    }

    /// Sites within `radius` metres of the point (any radius), with their distances, nearest first.
    public func sites(within radius: Double, lat: Double, lon: Double) -> [(site: Int32, distanceM: Double)] {
        let probe = GeoBox(minLat: lat, minLon: lon, maxLat: lat, maxLon: lon).expanded(byMetres: radius)
        var seen = Set<Int32>()
        var out: [(site: Int32, distanceM: Double)] = []
        for grid in grids {
            let inv = 1 / Self.cellDeg(grid.level)
            let x0 = Int((probe.minLon * inv).rounded(.down)), x1 = Int((probe.maxLon * inv).rounded(.down))
            let y0 = Int((probe.minLat * inv).rounded(.down)), y1 = Int((probe.maxLat * inv).rounded(.down))
            for ix in x0...x1 {
                for iy in y0...y1 {
                    guard let run = grid.find(ix: ix, iy: iy) else { continue }
                    for e in Int(run.start)..<Int(run.start + run.count) {
                        let s = entries[e].site
                        guard seen.insert(s).inserted else { continue }
                        let d = distanceM(site: s, lat: lat, lon: lon)
                        if d <= radius { out.append((s, d)) }
                    }
                }
            }
        }
        return out.sorted { $0.distanceM != $1.distanceM ? $0.distanceM < $1.distanceM : $0.site < $1.site }
    }

    /// The sites a silent gap is near (SPEC §4.4 `tracker_silent`): within `radius` of both ends,
    /// nearest to the later end first. The first is the alert's site.
    public func silentSites(from: Fix, to: Fix, radius: Double) -> [Int32] {
        let nearFrom = Set(sites(within: radius, lat: from.lat, lon: from.lon).map(\.site))
        guard !nearFrom.isEmpty else { return [] }
        return sites(within: radius, lat: to.lat, lon: to.lon).map(\.site).filter { nearFrom.contains($0) }
    }

    // MARK: Look-ahead

    /// A query makes three dependent reads — the cell, the cell's run of candidates, the outlines
    /// of the candidates whose box holds the point — and when consecutive queries lie hundreds of
    /// metres apart (one vehicle's fixes) each read misses the cache and the CPU waits on it. A
    /// caller that knows its coming queries (the batch run) starts those reads early, one step
    /// per query: `prefetchCells` for the query three ahead, `prefetchCandidates` two ahead,
    /// `prefetchOutlines` one ahead. Each step finds the read it depends on done, and the query
    /// itself finds everything in cache. Hints only: nothing they do changes an answer.
    @inline(__always)
    public func prefetchCells(lat: Double, lon: Double) {
        for grid in grids { grid.prefetch(lat: lat, lon: lon) }
    }

    /// The second step: the cells (fetched by `prefetchCells`) give the runs of candidates.
    @inline(__always)
    public func prefetchCandidates(lat: Double, lon: Double) {
        entries.withUnsafeBufferPointer { es in
            for grid in grids {
                guard let run = grid.find(lat: lat, lon: lon) else { continue }
                let first = UnsafeRawPointer(es.baseAddress! + Int(run.start))
                iw_prefetch(first)
                if run.count > 2 { iw_prefetch(first + 64) }
            }
        }
    }

    /// The third step: the outlines of the candidates whose box holds the point (a blob's first
    /// three cache lines: its header, ring boundaries and the vertices of a small site).
    @inline(__always)
    public func prefetchOutlines(lat: Double, lon: Double) {
        arena.withUnsafeBufferPointer { a in
            forEachCandidate(lat: lat, lon: lon) { _, o in
                let blob = UnsafeRawPointer(a.baseAddress! + o)
                iw_prefetch(blob)
                iw_prefetch(blob + 64)
                iw_prefetch(blob + 128)
            }
        }
    }

    /// Whether the point is within the margin of site `s`: the check an open stay makes, no lookup.
    @inline(__always)
    public func isAt(site s: Int32, lat: Double, lon: Double) -> Bool {
        isWithin(blob: Int(offsets[Int(s)]), lat: lat, lon: lon, limit: margin)
    }

    /// The same, for a caller that kept the site's `blobOffset`.
    @inline(__always)
    public func isAt(blob o: Int, lat: Double, lon: Double) -> Bool {
        isWithin(blob: o, lat: lat, lon: lon, limit: margin)
    }

    public func blobOffset(_ s: Int32) -> Int { Int(offsets[Int(s)]) }

    /// Whether the point lies inside site `s` (even-odd).
    public func contains(site s: Int32, lat: Double, lon: Double) -> Bool {
        let o = Int(offsets[Int(s)])
        return arena.withUnsafeBufferPointer { a in
            let (x, y) = Self.project(a, o, lat, lon)
            if a[o + Blob.circle] != 0 { return x * x + y * y <= Double(a[o + Blob.radius]) * Double(a[o + Blob.radius]) }
            return Self.probe(a, o, x, y, stopWithin: -1).inside
        }
    }

    /// Distance in metres from the point to site `s` (0 inside).
    public func distanceM(site s: Int32, lat: Double, lon: Double) -> Double {
        let o = Int(offsets[Int(s)])
        return arena.withUnsafeBufferPointer { a in
            let (x, y) = Self.project(a, o, lat, lon)
            if a[o + Blob.circle] != 0 { return max(0, (x * x + y * y).squareRoot() - Double(a[o + Blob.radius])) }
            let r = Self.probe(a, o, x, y, stopWithin: -1)
            return r.inside ? 0 : r.minDist2.squareRoot()
        }
    }

    @inline(__always)
    static func project(_ a: UnsafeBufferPointer<Float>, _ o: Int, _ lat: Double, _ lon: Double) -> (Double, Double) {
        ((lon - Blob.double(a, o + Blob.lon0)) * Double(a[o + Blob.kx]), (lat - Blob.double(a, o + Blob.lat0)) * Double(a[o + Blob.ky]))
    }

    @inline(__always)
    static func outsideBox(_ a: UnsafeBufferPointer<Float>, _ o: Int, _ x: Double, _ y: Double, _ limit: Double) -> Bool {
        x < Double(a[o + Blob.minX]) - limit || x > Double(a[o + Blob.maxX]) + limit
            || y < Double(a[o + Blob.minY]) - limit || y > Double(a[o + Blob.maxY]) + limit
    }

    @inline(__always)
    func isWithin(blob o: Int, lat: Double, lon: Double, limit: Double) -> Bool {
        arena.withUnsafeBufferPointer { a in
            let (x, y) = Self.project(a, o, lat, lon)
            if a[o + Blob.circle] != 0 {
                let r = Double(a[o + Blob.radius]) + limit
                return x * x + y * y <= r * r
            }
            if Self.outsideBox(a, o, x, y, limit) { return false }
            let r = Self.probe(a, o, x, y, stopWithin: limit * limit)
            return r.inside || r.minDist2 <= limit * limit
        }
    }

    @inline(__always)
    func distanceIfWithin(blob o: Int, lat: Double, lon: Double, limit: Double) -> Double? {
        arena.withUnsafeBufferPointer { a in
            let (x, y) = Self.project(a, o, lat, lon)
            if a[o + Blob.circle] != 0 {
                let d = max(0, (x * x + y * y).squareRoot() - Double(a[o + Blob.radius]))
                return d <= limit ? d : nil
            }
            if Self.outsideBox(a, o, x, y, limit) { return nil }
            let r = Self.probe(a, o, x, y, stopWithin: -1)
            if r.inside { return 0 }
            return r.minDist2 <= limit * limit ? r.minDist2.squareRoot() : nil
        }
    }

    /// Even-odd crossings and nearest edge over a blob's rings (the loop of `PolygonProbe`, with
    /// the ring boundaries read from the blob).
    @inline(__always)
    static func probe(_ a: UnsafeBufferPointer<Float>, _ o: Int, _ px: Double, _ py: Double,
                      stopWithin: Double) -> (inside: Bool, minDist2: Double) {
        let rings = Int(a[o + Blob.ringCount])
        let v = o + Blob.header + rings + 1
        var inside = false
        var best = Double.infinity
        for r in 0..<rings {
            let s = Int(a[o + Blob.header + r]), e = Int(a[o + Blob.header + r + 1])
            let (ins, d2) = PolygonProbe.ring(a, v, s, e, px, py, stopWithin: stopWithin, best: best)
            if ins { inside.toggle() }
            best = d2
            if d2 <= stopWithin { break }
        }
        return (inside, best)
    }
}

/// How one level finds a cell's run: a dense array over the level's occupied box when that is
/// small (a city: one load, no hashing), an open-addressing hash table otherwise (a province).
struct LevelGrid: Sendable {
    let level: Int
    let inv: Double
    let x0: Int, y0: Int, nx: Int, ny: Int
    /// Dense: `start << 32 | count` per cell, row-major; empty when the level is hashed.
    let cells: [UInt64]
    let table: CellTable?

    init(level: Int, runs: [(ix: Int, iy: Int, key: UInt64, start: UInt32, count: UInt32)]) {
        self.level = level
        inv = 1 / SiteIndex.cellDeg(level)
        let x0 = runs.map(\.ix).min()!, x1 = runs.map(\.ix).max()!
        let y0 = runs.map(\.iy).min()!, y1 = runs.map(\.iy).max()!
        self.x0 = x0; self.y0 = y0; nx = x1 - x0 + 1; ny = y1 - y0 + 1
        if nx * ny <= max(1 << 21, 4 * runs.count) {
            var cells = [UInt64](repeating: 0, count: nx * ny)
            for r in runs { cells[(r.iy - y0) * nx + (r.ix - x0)] = UInt64(r.start) << 32 | UInt64(r.count) }
            self.cells = cells
            table = nil
        } else {
            cells = []
            table = CellTable(runs: runs.map { ($0.key, $0.start, $0.count) })
        }
    }

    @inline(__always)
    func find(lat: Double, lon: Double) -> (start: UInt32, count: UInt32)? {
        find(ix: Int((lon * inv).rounded(.down)), iy: Int((lat * inv).rounded(.down)))
    }

    /// Starts the read of the point's cell (see `SiteIndex.prefetchCells`).
    @inline(__always)
    func prefetch(lat: Double, lon: Double) {
        let ix = Int((lon * inv).rounded(.down)), iy = Int((lat * inv).rounded(.down))
        if let table { table.prefetch(SiteIndex.key(level, ix, iy)); return }
        let cx = ix - x0, cy = iy - y0
        guard cx >= 0, cx < nx, cy >= 0, cy < ny else { return }
        cells.withUnsafeBufferPointer { iw_prefetch($0.baseAddress! + (cy * nx + cx)) }
    }

    @inline(__always)
    func find(ix: Int, iy: Int) -> (start: UInt32, count: UInt32)? {
        if let table { return table.find(SiteIndex.key(level, ix, iy)) }
        let cx = ix - x0, cy = iy - y0
        guard cx >= 0, cx < nx, cy >= 0, cy < ny else { return nil }
        let c = cells.withUnsafeBufferPointer { $0[cy * nx + cx] }
        return c == 0 ? nil : (UInt32(truncatingIfNeeded: c >> 32), UInt32(truncatingIfNeeded: c))
    }
}

/// Open-addressing hash table from a cell key to its run of candidates; one slot is one cache
/// line's quarter, so a lookup is usually one miss.
struct CellTable: Sendable {
    struct Slot: Sendable {
        var key: UInt64
        var start: UInt32
        var count: UInt32
    }

    private var slots: [Slot]
    private let mask: Int
    private static let empty = UInt64.max

    init(runs: [(UInt64, UInt32, UInt32)]) {
        var cap = 16
        while cap < runs.count * 2 { cap <<= 1 }
        mask = cap - 1
        slots = Array(repeating: Slot(key: Self.empty, start: 0, count: 0), count: cap)
        for (k, s, c) in runs {
            var i = Self.slot(k, mask)
            while slots[i].key != Self.empty { i = (i + 1) & mask }
            slots[i] = Slot(key: k, start: s, count: c)
        }
    }

    @inline(__always)
    static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    @inline(__always)
    func prefetch(_ k: UInt64) {
        slots.withUnsafeBufferPointer { iw_prefetch($0.baseAddress! + Self.slot(k, mask)) }
    }

    @inline(__always)
    func find(_ k: UInt64) -> (start: UInt32, count: UInt32)? {
        slots.withUnsafeBufferPointer { sp in
            var i = Self.slot(k, mask)
            while true {
                let here = sp[i]
                if here.key == k { return (here.start, here.count) }
                if here.key == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
