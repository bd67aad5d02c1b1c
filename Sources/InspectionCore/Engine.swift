/// The whole pipeline of SPEC §3.3–4.4 for a fleet: position → checks → the vehicle's track →
/// rules → records. The daemon and `replay` both drive this one type, so they agree.
///
/// Feed positions in arrival order (replay sorts by time first); nothing here reads a clock.
public struct Engine: Sendable {
    public private(set) var registry: Registry
    public let settings: EngineSettings
    var trackSettings: TrackSettings
    private(set) var index: SiteIndex
    /// Tracker ids as numbers.
    public internal(set) var vehicleIds = ByteInterner(capacity: 4096)
    /// Agency of each vehicle number (nil for a tracker not in vehicles.csv).
    var agencyOf: [String?] = []
    var tracks: [VehicleTrack] = []
    public internal(set) var rules: RuleEngine
    /// Visits opened and not yet closed, by (vehicle, site, start).
    var openVisits: [OpenKey: VisitRecord] = [:]
    var scratch: [TrackEvent] = []
    public internal(set) var counts = RejectCounts()
    public internal(set) var accepted = 0
    /// Whether late positions within the horizon are worked in (SPEC §3.4): each vehicle then
    /// keeps its recent fixes (`histories`), and the visits seen at each enterprise (`seen`).
    /// Replay, whose input is put in time order first, needs neither.
    public let worksInLate: Bool
    var histories: [TrackHistory] = []
    /// The visits seen at each enterprise, as the rules take them, while their occasions can count.
    var seen: [String: [SeenVisit]] = [:]
    var opensSinceSeenPruned = 0
    /// Late positions worked in since the start.
    public internal(set) var lateReconciled = 0
    /// Code scans and the occasions waiting to be judged (SPEC §3.5), when the daemon judges
    /// them; the daemon's processor feeds it what the engine says of visits, the engine what a
    /// re-match assigns. Replay judges at the end of its input instead (`ScanRule.judgeAll`).
    public var scanJudge: ScanJudge?

    struct OpenKey: Hashable { var vehicle: Int32; var site: Int32; var start: Millis }

    public enum Result: Sendable, Equatable {
        case accepted
        case held
        case rejected(RejectReason)
        /// Late and within the horizon: the vehicle's track was worked out again with it
        /// (`EngineOutput.reconciliations` says what that changed).
        case reconciled
    }

    /// `vehicles` numbers the trackers the positions to come name (a parsed `TraceBatch`'s);
    /// trackers first seen later are added.
    /// `evidence`: report the positions that make each visit (`EngineOutput.evidence`).
    /// `lateHorizon`: work late positions in (the daemon); off, a late position is set aside.
    public init(registry: Registry, settings: EngineSettings, vehicles: ByteInterner = ByteInterner(capacity: 4096),
                evidence: Bool = false, lateHorizon: Bool = false) {
        self.worksInLate = lateHorizon
        self.registry = registry
        self.settings = settings
        self.trackSettings = TrackSettings(settings)
        self.trackSettings.collectEvidence = evidence
        self.index = registry.index
        self.rules = RuleEngine(settings: settings)
        self.vehicleIds = vehicles
        growTracks(to: vehicles.count)
    }

    /// Tracks exist for every number the interner has given out.
    private mutating func growTracks(to n: Int) {
        while tracks.count < n {
            tracks.append(VehicleTrack())
            if worksInLate { histories.append(TrackHistory()) }
            agencyOf.append(registry.vehicles[vehicleIds.string(Int32(tracks.count - 1))]?.agencyId)
        }
    }

    /// The number of a tracker id (interned on first sight).
    public mutating func vehicleNumber(_ id: String) -> Int32 {
        var id = id
        return id.withUTF8 { vehicleNumber(bytes: $0) }
    }

    @inline(__always)
    public mutating func vehicleNumber(bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let n = vehicleIds.intern(bytes)
        if Int(n) >= tracks.count { growTracks(to: Int(n) + 1) }
        return n
    }

    public func vehicleId(_ n: Int32) -> String { vehicleIds.string(n) }

    /// One position. Records produced go to `out`; a `late` position is returned as such so the
    /// caller can keep it for audit.
    @inline(__always)
    public mutating func ingest(_ p: Position, into out: inout EngineOutput) -> Result {
        let result = feed(p.fix, vehicle: p.vehicle)
        if !scratch.isEmpty { drainEvents(into: &out) }
        if case .late(let f) = result { return reconcile([f], vehicle: p.vehicle, into: &out)[0] }
        return result.engineResult
    }

    /// What `feed` found: an outcome, or a late fix the caller works in.
    enum FeedResult {
        case accepted, held, rejected(RejectReason), late(Fix)
        var engineResult: Result {
            switch self {
            case .accepted: return .accepted
            case .held: return .held
            case .rejected(let r): return .rejected(r)
            case .late: return .rejected(.late)
            }
        }
    }

    /// The checks and the vehicle's track for one fix; what the track reports waits in `scratch`
    /// for the rules. The part of `ingest` that touches one vehicle's state alone.
    @inline(__always)
    mutating func feed(_ f: Fix, vehicle: Int32) -> FeedResult {
        if let r = PositionCheck.validate(lat: f.lat, lon: f.lon) { counts.add(r); return .rejected(r) }
        let v = Int(vehicle)
        precondition(v < tracks.count, "a position names a vehicle number the engine's interner never gave out")
        if worksInLate {
            let newest = tracks[v].lastSeen
            if f.ts < newest { return .late(f) }
            if f.ts > newest { histories[v].append(f, before: tracks[v], horizonStart: f.ts - settings.lateHorizon) }
        }
        let acceptedBefore = tracks[v].acceptedCount
        let outcome = tracks[v].offer(f, vehicle: vehicle, index: index, settings: trackSettings,
                                      counts: &counts, events: &scratch)
        accepted += tracks[v].acceptedCount - acceptedBefore
        switch outcome {
        case .accepted: return .accepted
        case .held: return .held
        case .duplicate: counts.add(.duplicate); return .rejected(.duplicate)
        case .late: counts.add(.late); return .rejected(.late)
        }
    }

    /// Vehicle numbers with a track.
    var trackCount: Int { tracks.count }

    /// Takes a new registry while running (the daemon's reload): open stays move to the same
    /// `site_id` in the new registry; a stay whose site is gone ends at its last position there.
    /// Occasions and every vehicle's filters carry over; tasks, agencies and vehicles are the new ones.
    public mutating func replaceRegistry(_ new: Registry, into out: inout EngineOutput) {
        let old = registry
        registry = new
        index = new.index
        for v in agencyOf.indices { agencyOf[v] = new.vehicles[vehicleIds.string(Int32(v))]?.agencyId }
        followSites(into: &out) { new.siteNumbers[old.site($0).id] }
    }

    /// Open stays and open visits move to the current registry's site numbers (`newNumber` maps an
    /// old number to its new one); a stay whose site is gone ends at its last position there, its
    /// visit closing under the old number. Serves a reload and a restore from a checkpoint.
    private mutating func followSites(into out: inout EngineOutput, newNumber: (Int32) -> Int32?) {
        for v in tracks.indices {
            tracks[v].moveStay(vehicle: Int32(v), index: index, settings: trackSettings, events: &scratch, newNumber: newNumber)
        }
        // The kept states follow too; a vehicle whose kept state stays at a site that is gone
        // cannot be worked out again from before now (its late positions are then too old).
        for v in histories.indices {
            for k in histories[v].chunks.indices where !histories[v].chunks[k].before.renumber(index: index, newNumber: newNumber) {
                histories[v].chunks.removeAll()
                break
            }
        }
        if !scratch.isEmpty { drainEvents(into: &out) }
        var moved: [OpenKey: VisitRecord] = [:]
        for (key, record) in openVisits {
            guard let n = registry.siteNumbers[record.siteId] else { continue }
            moved[OpenKey(vehicle: key.vehicle, site: n, start: key.start)] = record
        }
        openVisits = moved
    }

    /// Visits opened between two prunings of the occasion history (`RuleEngine.pruneInterval`).
    public var occasionPruneInterval: Int {
        get { rules.pruneInterval }
        set { rules.pruneInterval = newValue }
    }

    /// Adds, amends or cancels one task (the daemon's API); what it changes for visits already
    /// seen is `rematch`'s.
    public mutating func upsertTask(_ task: InspectionTask) { registry.upsert(task) }

    /// Task matching and the rules again for every visit seen at `enterprise` (SPEC §4.2–4.4),
    /// in the order they opened: each visit's task and occasion now, and every alert they raise
    /// now (silent-tracker alerts do not depend on tasks and are not among them). Open visits
    /// take their new task and occasion, so they close with them.
    public mutating func rematch(enterprise: String, visits: [VisitRecord]) -> (assignments: [String: VisitAssignment], alerts: [AlertRecord]) {
        let ordered = visits.map { SeenVisit(visitId: $0.visitId, vehicleId: $0.vehicleId, agencyId: $0.agencyId, siteId: $0.siteId,
                                             start: $0.start, at: $0.openedAt) }.sorted(by: Self.openingOrder)
        var assignments: [String: VisitAssignment] = [:]
        var alerts: [AlertRecord] = []
        for r in rules.rematch(enterprise: enterprise, visits: ordered.map { facts($0, enterprise: enterprise) }, registry: registry) {
            assignments[r.visitId] = r.assignment
            alerts += r.alerts
        }
        takeAssignments(assignments)
        for (id, a) in assignments { scanJudge?.assign(visitId: id, a) }
        return (assignments, alerts)
    }

    /// The state to resume from after a restart: every vehicle's filters and open stay, the open
    /// visits, the occasions the rules count with, the counters. Sites are named by id, so it can
    /// be restored under a registry that changed meanwhile.
    public func checkpoint() -> EngineCheckpoint {
        EngineCheckpoint(
            vehicles: (0..<vehicleIds.count).map { vehicleIds.string(Int32($0)) },
            siteIds: registry.sites.map(\.id),
            tracks: tracks,
            openVisits: openVisits.map { .init(vehicle: $0.key.vehicle, site: $0.key.site, start: $0.key.start, record: $0.value) },
            rules: rules.state, counts: counts, accepted: accepted,
            histories: worksInLate ? histories : nil, seen: worksInLate ? seen : nil, lateReconciled: worksInLate ? lateReconciled : nil,
            scans: scanJudge)
    }

    /// An engine resumed from a checkpoint under `registry`. Stays and open visits follow their
    /// `site_id`; those whose site is gone end at their last position there (into `out`).
    public init(registry: Registry, settings: EngineSettings, restoring c: EngineCheckpoint, evidence: Bool = false,
                lateHorizon: Bool = false, into out: inout EngineOutput) {
        self.init(registry: registry, settings: settings, evidence: evidence, lateHorizon: lateHorizon)
        for v in c.vehicles { _ = vehicleNumber(v) }
        rules = RuleEngine(settings: settings, state: c.rules)
        counts = c.counts
        accepted = c.accepted
        if lateHorizon, let h = c.histories, h.count == tracks.count {
            histories = h
            seen = c.seen ?? [:]
            lateReconciled = c.lateReconciled ?? 0
        }
        scanJudge = c.scans
        for o in c.openVisits { openVisits[OpenKey(vehicle: o.vehicle, site: o.site, start: o.start)] = o.record }
        // The stays carry the checkpoint's site numbers: they follow their ids as on a reload.
        tracks = c.tracks
        followSites(into: &out) { site in
            Int(site) < c.siteIds.count ? registry.siteNumbers[c.siteIds[Int(site)]] : nil
        }
    }

    /// Counts a position that never reached `ingest` (a parser or transport rejected it).
    public mutating func count(_ r: RejectReason, _ n: Int = 1) { counts.add(r, n) }

    /// The input ended (offline): open stays close, held outliers are dropped.
    public mutating func finish(into out: inout EngineOutput) {
        for v in tracks.indices {
            tracks[v].finish(vehicle: Int32(v), index: index, settings: trackSettings, counts: &counts, events: &scratch)
            if !scratch.isEmpty { drainEvents(into: &out) }
        }
    }

    /// What the tracks reported, through the rules.
    mutating func drainEvents(into out: inout EngineOutput) {
        // Swapped out, not copied: a copy would share the buffer, and emptying `scratch` would
        // then allocate a new one each time.
        var events: [TrackEvent] = []
        swap(&events, &scratch)
        for e in events { handle(e, into: &out) }
        events.removeAll(keepingCapacity: true)
        swap(&events, &scratch)
    }

    /// One event of a track through the rules: visits opened (task matching, alerts), closed,
    /// their evidence, a silent tracker.
    mutating func handle(_ e: TrackEvent, into out: inout EngineOutput) {
        switch e {
        case .visitOpened(let o):
            if worksInLate {
                let site = registry.site(o.site)
                if opensOutOfOrder(enterprise: site.enterpriseId, at: o.at,
                                   visitId: RuleEngine.visitId(vehicleId: vehicleId(o.vehicle), siteId: site.id, start: o.start)) {
                    openOutOfOrder(o, into: &out)
                    return
                }
            }
            let (record, alerts) = rules.open(vehicleId: vehicleId(o.vehicle), agencyId: agencyOf[Int(o.vehicle)],
                                              site: registry.site(o.site), start: o.start, at: o.at,
                                              points: Int(o.points), registry: registry)
            openVisits[OpenKey(vehicle: o.vehicle, site: o.site, start: o.start)] = record
            if worksInLate { see(record) }
            if out.absorbedByReconciliation(visit: record, alerts: alerts) { return }
            out.opened.append(record)
            out.alerts += alerts
        case .visitClosed(let c):
            guard var record = openVisits.removeValue(forKey: OpenKey(vehicle: c.vehicle, site: c.site, start: c.start)) else { return }
            record.end = c.end
            record.points = Int(c.points)
            if out.absorbedByReconciliation(visit: record, alerts: []) { return }
            out.closed.append(record)
        case .evidence(let e):
            guard let record = openVisits[OpenKey(vehicle: e.vehicle, site: e.site, start: e.start)] else { return }
            out.evidence.append((record.visitId, e.fixes))
        case .trackerSilent(let g):
            guard let alert = rules.trackerSilent(g, vehicleId: vehicleId(g.vehicle), agencyId: agencyOf[Int(g.vehicle)],
                                                  registry: registry) else { return }
            if out.absorbedByReconciliation(visit: nil, alerts: [alert]) { return }
            out.alerts.append(alert)
        }
    }

    /// Events the tracks reported and the rules have not yet seen (the batch run takes them).
    mutating func takeEvents(_ body: (TrackEvent) -> Void) {
        for e in scratch { body(e) }
        scratch.removeAll(keepingCapacity: true)
    }
}

/// What the engine produced since the caller last emptied it.
public struct EngineOutput: Sendable {
    public var opened: [VisitRecord] = []
    public var closed: [VisitRecord] = []
    public var alerts: [AlertRecord] = []
    /// Positions that became part of open visits, by visit (only when the engine collects them).
    public var evidence: [(visitId: String, fixes: [Fix])] = []
    /// What late positions changed, each after the records above that came before it.
    public var reconciliations: [Reconciliation] = []
    public init() {}

    public var isEmpty: Bool { opened.isEmpty && closed.isEmpty && alerts.isEmpty && evidence.isEmpty && reconciliations.isEmpty }

    /// After a reconciliation, what the engine says goes into it, so that it is written after it,
    /// in order (`Reconciliation.absorb`); false when there is none (it goes in the lists above).
    mutating func absorbedByReconciliation(visit: VisitRecord?, alerts: [AlertRecord]) -> Bool {
        guard !reconciliations.isEmpty else { return false }
        reconciliations[reconciliations.count - 1].absorb(visit: visit, alerts: alerts)
        return true
    }
    public mutating func removeAll() {
        opened.removeAll(keepingCapacity: true); closed.removeAll(keepingCapacity: true); alerts.removeAll(keepingCapacity: true)
        evidence.removeAll(keepingCapacity: true); reconciliations.removeAll()
    }
}
