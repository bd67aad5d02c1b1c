/// One vehicle's state: the input filters of SPEC §3.3 and the stay/visit machine of SPEC §4.1.
///
/// Fed one fix at a time in the vehicle's own time order; it never reads a clock, and what happened
/// goes into the caller's event buffer. A position that opens a visit reports it at once.
public struct VehicleTrack: Sendable, Codable {
    public enum Outcome: Sendable, Equatable, Codable {
        case accepted
        /// Implies an impossible speed; held until three such fixes agree (then accepted) or dropped.
        case held
        case duplicate
        case late
    }

    /// Last fix fed to visit detection.
    public private(set) var last: Fix?
    /// Timestamp of the last fix offered that was neither late nor a duplicate.
    public private(set) var lastSeen: Millis = .min
    var pending: [Fix] = []
    var stay: Stay?
    /// Fixes fed to visit detection so far (re-anchoring accepts several at once).
    public private(set) var acceptedCount = 0

    struct Stay: Sendable, Codable {
        var site: Int32
        /// Where the site's outline is in the index (saves a lookup per fix).
        var blob: Int
        var first: Millis
        var lastAt: Millis
        var lastFed: Millis
        /// Positions from the first to the last at the site, excursions that came back included.
        var points: Int32
        var opened: Bool
        /// Positions not at the site since the last one at it (at most `exit_grace` long).
        var excursion: [Fix]
        /// A silent gap whose far end began an excursion: inside the stay only if the vehicle returns.
        var pendingSilent: SilentPair?
        /// Its positions until it becomes a visit (only when evidence is collected).
        var early: [Fix] = []
    }

    struct SilentPair: Sendable, Codable { var from: Fix; var to: Fix }

    public init() {}

    /// Offers a fix that passed `PositionCheck`. Dropped outliers are added to `counts`.
    @inline(__always)
    public mutating func offer(_ p: Fix, vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                               counts: inout RejectCounts, events: inout [TrackEvent]) -> Outcome {
        if p.ts == lastSeen { return .duplicate }
        if p.ts < lastSeen { return .late }
        lastSeen = p.ts
        guard let anchor = last, Self.speedKmh(anchor, p) > settings.maxSpeedKmh else {
            if !pending.isEmpty { counts.add(.outlier, pending.count); pending.removeAll(keepingCapacity: true) }
            accept(p, vehicle: vehicle, index: index, settings: settings, events: &events)
            return .accepted
        }
        if let lp = pending.last, Self.speedKmh(lp, p) <= settings.maxSpeedKmh {
            pending.append(p)
        } else {
            counts.add(.outlier, pending.count)
            pending.removeAll(keepingCapacity: true)
            pending.append(p)
        }
        if pending.count >= settings.reanchorFixes {
            // The vehicle really moved while unseen: the track re-anchors on these fixes.
            let fixes = pending
            pending.removeAll(keepingCapacity: true)
            for q in fixes { accept(q, vehicle: vehicle, index: index, settings: settings, events: &events) }
            return .accepted
        }
        return .held
    }

    @inline(__always)
    static func speedKmh(_ a: Fix, _ b: Fix) -> Double {
        let dt = Double(b.ts - a.ts) / 1000
        guard dt > 0 else { return .infinity }
        return Geo.approxDistanceM(a.lat, a.lon, b.lat, b.lon) / dt * 3.6
    }

    /// Feeds an accepted fix to visit detection.
    mutating func accept(_ p: Fix, vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                         events: inout [TrackEvent]) {
        let prev = last
        last = p
        acceptedCount += 1
        if let redo = step(p, vehicle: vehicle, index: index, settings: settings, events: &events) {
            drain(redo, vehicle: vehicle, index: index, settings: settings, events: &events)
        }
        guard let prev, p.ts - prev.ts > settings.silentGap else { return }
        // A gap inside a stay is accounted for: the vehicle was at that site, and the visit says so.
        // The stay may have begun only now, on fixes handed back by a stay elsewhere that ended.
        if stay != nil, stay!.first <= prev.ts {
            if stay!.lastAt != p.ts { stay!.pendingSilent = SilentPair(from: prev, to: p) }  // decided when the excursion ends
        } else {
            silent(prev, p, vehicle: vehicle, index: index, settings: settings, events: &events)
        }
    }

    /// Processes fixes handed back by a stay that ended: they are seen again with no stay open.
    private mutating func drain(_ redo: [Fix], vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                                events: inout [TrackEvent]) {
        var queue = redo
        var i = 0
        while i < queue.count {
            let q = queue[i]
            i += 1
            if let more = step(q, vehicle: vehicle, index: index, settings: settings, events: &events) {
                queue.insert(contentsOf: more, at: i)
            }
        }
    }

    /// One fix through the stay machine. Returns the fixes to process again when a stay ended on it
    /// (its excursion and the fix itself), nil otherwise.
    private mutating func step(_ q: Fix, vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                               events: inout [TrackEvent]) -> [Fix]? {
        guard stay != nil else {
            guard let (site, blob) = index.bestCandidate(lat: q.lat, lon: q.lon) else { return nil }
            var fresh = Stay(site: site, blob: blob, first: q.ts, lastAt: q.ts, lastFed: q.ts,
                             points: 1, opened: false, excursion: [], pendingSilent: nil)
            if settings.collectEvidence { fresh.early = [q] }
            if settings.minDwell <= 0 {
                fresh.opened = true
                events.append(.visitOpened(VisitOpening(vehicle: vehicle, site: site, start: q.ts, at: q.ts, points: 1)))
                if settings.collectEvidence {
                    events.append(.evidence(VisitEvidence(vehicle: vehicle, site: site, start: q.ts, fixes: fresh.early)))
                    fresh.early = []
                }
            }
            stay = fresh
            return nil
        }
        // The open stay is mutated in place (`stay!`): no copy of its excursion buffer per fix.
        if q.ts - stay!.lastFed > settings.maxGap { return endStay(with: q, vehicle: vehicle, index: index, settings: settings, events: &events) }
        if index.isAt(blob: stay!.blob, lat: q.lat, lon: q.lon) {
            stay!.points += Int32(stay!.excursion.count) + 1
            if settings.collectEvidence {
                if stay!.opened {
                    events.append(.evidence(VisitEvidence(vehicle: vehicle, site: stay!.site, start: stay!.first,
                                                          fixes: stay!.excursion + [q])))
                } else {
                    stay!.early += stay!.excursion
                    stay!.early.append(q)
                }
            }
            if !stay!.excursion.isEmpty { stay!.excursion.removeAll(keepingCapacity: true) }
            stay!.lastAt = q.ts
            stay!.lastFed = q.ts
            stay!.pendingSilent = nil  // the vehicle came back: a gap before this was inside the stay
            if !stay!.opened && q.ts - stay!.first >= settings.minDwell {
                stay!.opened = true
                events.append(.visitOpened(VisitOpening(vehicle: vehicle, site: stay!.site, start: stay!.first, at: q.ts,
                                                        points: stay!.points)))
                if settings.collectEvidence {
                    events.append(.evidence(VisitEvidence(vehicle: vehicle, site: stay!.site, start: stay!.first, fixes: stay!.early)))
                    stay!.early = []
                }
            }
            return nil
        }
        if stay!.excursion.isEmpty || q.ts - stay!.excursion[0].ts <= settings.exitGrace {
            stay!.excursion.append(q)
            stay!.lastFed = q.ts
            return nil
        }
        return endStay(with: q, vehicle: vehicle, index: index, settings: settings, events: &events)
    }

    /// Ends the open stay at its last position at the site; its excursion and `q` are to be seen again.
    private mutating func endStay(with q: Fix, vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                                  events: inout [TrackEvent]) -> [Fix] {
        let st = stay!
        stay = nil
        close(st, vehicle: vehicle, index: index, settings: settings, events: &events)
        return st.excursion + [q]
    }

    private func close(_ st: Stay, vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                       events: inout [TrackEvent]) {
        if st.opened {
            events.append(.visitClosed(VisitClosing(vehicle: vehicle, site: st.site, start: st.first, end: st.lastAt,
                                                    points: st.points)))
        }
        if let ps = st.pendingSilent {
            silent(ps.from, ps.to, vehicle: vehicle, index: index, settings: settings, events: &events)
        }
    }

    private func silent(_ from: Fix, _ to: Fix, vehicle: Int32, index: SiteIndex,
                        settings: TrackSettings, events: inout [TrackEvent]) {
        let both = index.silentSites(from: from, to: to, radius: settings.silentRadiusM)
        guard let site = both.first else { return }
        events.append(.trackerSilent(SilentGap(vehicle: vehicle, site: site, from: from, to: to, sites: both)))
    }

    /// The registry changed: the open stay follows its site to its new number, or ends (at its
    /// last position at the site) when `newNumber` has none for it.
    mutating func moveStay(vehicle: Int32, index: SiteIndex, settings: TrackSettings, events: inout [TrackEvent],
                           newNumber: (Int32) -> Int32?) {
        guard let st = stay else { return }
        if let n = newNumber(st.site) {
            stay!.site = n
            stay!.blob = index.blobOffset(n)
        } else {
            stay = nil
            close(st, vehicle: vehicle, index: index, settings: settings, events: &events)
        }
    }

    /// A digest of everything the track holds (FNV-1a over its fields): with a chunk's fixes, the
    /// id a chunk of kept fixes is stored under (`TrackHistory`).
    func digest(into h: inout UInt64) {
        func mix(_ v: UInt64) { for k in 0..<8 { h ^= (v >> (8 * UInt64(k))) & 0xff; h = h &* 0x100_0000_01b3 } }
        func fix(_ f: Fix?) {
            guard let f else { mix(0x6e6f6e65); return }
            mix(UInt64(bitPattern: f.ts)); mix(f.lat.bitPattern); mix(f.lon.bitPattern)
        }
        func fixes(_ fs: [Fix]) { mix(UInt64(fs.count)); for f in fs { fix(f) } }
        fix(last); mix(UInt64(bitPattern: lastSeen)); fixes(pending); mix(UInt64(acceptedCount))
        guard let st = stay else { mix(0x6e6f7374); return }
        mix(UInt64(UInt32(bitPattern: st.site))); mix(UInt64(bitPattern: Int64(st.blob))); mix(UInt64(bitPattern: st.first))
        mix(UInt64(bitPattern: st.lastAt)); mix(UInt64(bitPattern: st.lastFed)); mix(UInt64(UInt32(bitPattern: st.points)))
        mix(st.opened ? 1 : 0); fixes(st.excursion); fixes(st.early)
        fix(st.pendingSilent?.from); fix(st.pendingSilent?.to)
    }

    /// A kept copy of the track follows the registry's new site numbers; false when its stay's
    /// site is gone.
    mutating func renumber(index: SiteIndex, newNumber: (Int32) -> Int32?) -> Bool {
        guard let st = stay else { return true }
        guard let n = newNumber(st.site) else { return false }
        stay!.site = n
        stay!.blob = index.blobOffset(n)
        return true
    }

    /// The input ended (offline): open stays close, held outliers are dropped.
    public mutating func finish(vehicle: Int32, index: SiteIndex, settings: TrackSettings,
                                counts: inout RejectCounts, events: inout [TrackEvent]) {
        counts.add(.outlier, pending.count)
        pending.removeAll()
        while let st = stay {
            stay = nil
            close(st, vehicle: vehicle, index: index, settings: settings, events: &events)
            if !st.excursion.isEmpty {
                drain(st.excursion, vehicle: vehicle, index: index, settings: settings, events: &events)
            }
        }
    }
}
