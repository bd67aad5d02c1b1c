/// What one vehicle's track reports to the rules, each a plain value.
public enum TrackEvent: Sendable {
    case visitOpened(VisitOpening)
    case visitClosed(VisitClosing)
    case trackerSilent(SilentGap)
    /// Positions that became part of an open visit (all of them so far when it opens).
    case evidence(VisitEvidence)

    /// The event time: when the rules see it.
    public var at: Millis {
        switch self {
        case .visitOpened(let o): return o.at
        case .visitClosed(let c): return c.end
        case .trackerSilent(let g): return g.to.ts
        case .evidence(let e): return e.fixes.last?.ts ?? e.start
        }
    }
}

/// A stay reached `min_dwell`: the visit opens now, at `at`.
public struct VisitOpening: Sendable, Equatable {
    public var vehicle: Int32
    public var site: Int32
    public var start: Millis
    public var at: Millis
    public var points: Int32
}

/// Positions of the visit of the stay at `site` that began at `start`.
public struct VisitEvidence: Sendable, Equatable {
    public var vehicle: Int32
    public var site: Int32
    public var start: Millis
    public var fixes: [Fix]
}

/// The stay of an open visit ended.
public struct VisitClosing: Sendable, Equatable {
    public var vehicle: Int32
    public var site: Int32
    public var start: Millis
    public var end: Millis
    public var points: Int32
}

/// Consecutive accepted positions more than `silent_gap` apart, both near `site` (SPEC §4.4).
public struct SilentGap: Sendable, Equatable {
    public var vehicle: Int32
    public var site: Int32
    public var from: Fix
    public var to: Fix
    /// Every site within the radius of both ends, nearest to `to` first.
    public var sites: [Int32]

    public init(vehicle: Int32, site: Int32, from: Fix, to: Fix, sites: [Int32]) {
        self.vehicle = vehicle; self.site = site; self.from = from; self.to = to; self.sites = sites
    }
}
