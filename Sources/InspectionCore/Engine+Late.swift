/// Late positions (SPEC §3.4): the vehicle's track worked out again from before them, and every
/// output brought to what it would have been had they arrived in time order.
extension Engine {
    /// A visit as the rules take it when an enterprise's visits are matched again.
    struct SeenVisit: Sendable, Codable, Equatable {
        var visitId: String
        var vehicleId: String
        var agencyId: String?
        var siteId: String
        var start: Millis
        var at: Millis
    }

    /// Bytes the kept fixes take, encoded (`TrackHistory`).
    public var historyBytes: Int { histories.reduce(0) { $0 + $1.encodedBytes } }

    /// Notes a visit the rules took, and now and then forgets those no rule can count any more.
    mutating func see(_ r: VisitRecord) {
        seen[r.enterpriseId, default: []].append(SeenVisit(visitId: r.visitId, vehicleId: r.vehicleId, agencyId: r.agencyId,
                                                           siteId: r.siteId, start: r.start, at: r.openedAt))
        opensSinceSeenPruned += 1
        guard opensSinceSeenPruned >= rules.pruneInterval, let forgettable = rules.forgettable else { return }
        opensSinceSeenPruned = 0
        let calendar = settings.calendar
        for (e, list) in seen {
            let kept = list.filter { !forgettable($0.start, calendar.year(of: $0.start)) }
            if kept.count < list.count { seen[e] = kept.isEmpty ? nil : kept }
        }
    }

    /// Works in late fixes of one vehicle (each older than its newest): too old for the horizon,
    /// counted and set aside; a duplicate of a kept fix, counted; the rest all at once. The
    /// result of each fix, in the order given.
    @discardableResult
    public mutating func reconcile(_ late: [Fix], vehicle: Int32, into out: inout EngineOutput) -> [Result] {
        let v = Int(vehicle)
        let newest = tracks[v].lastSeen
        let horizonStart = newest - settings.lateHorizon
        var results = [Result](repeating: .reconciled, count: late.count)
        var taken: [(fix: Fix, i: Int)] = []
        for (i, f) in late.enumerated() {
            if f.ts < horizonStart || histories[v].chunks.isEmpty { counts.add(.late); results[i] = .rejected(.late); continue }
            taken.append((f, i))
        }
        guard !taken.isEmpty else { return results }
        taken.sort { $0.fix.ts != $1.fix.ts ? $0.fix.ts < $1.fix.ts : $0.i < $1.i }

        let c = histories[v].chunk(for: taken[0].fix.ts)
        let start = histories[v].chunks[c].before
        var fixes = histories[v].fixes(from: c)
        var merged: [Fix] = []
        merged.reserveCapacity(fixes.count + taken.count)
        var i = 0
        var duplicates = 0
        for (f, k) in taken {
            while i < fixes.count && fixes[i].ts < f.ts { merged.append(fixes[i]); i += 1 }
            if (i < fixes.count && fixes[i].ts == f.ts) || merged.last?.ts == f.ts {
                duplicates += 1
                results[k] = .rejected(.duplicate)
                continue
            }
            merged.append(f)
        }
        merged += fixes[i...]
        counts.add(.duplicate, duplicates)
        guard merged.count > fixes.count else { return results }

        // The track as it was worked out (again, from the same state), and as it is now.
        let vid = vehicleId(vehicle)
        var before = Run(start, vehicle: vehicle)
        for f in fixes { before.offer(f, index: index, settings: trackSettings) }
        fixes = []
        histories[v].truncate(from: c)
        var after = Run(start, vehicle: vehicle)
        for f in merged {
            histories[v].append(f, before: after.track, horizonStart: horizonStart)
            after.offer(f, index: index, settings: trackSettings)
        }
        tracks[v] = after.track
        for r in RejectReason.allCases where after.counts[r] != before.counts[r] { counts.add(r, after.counts[r] - before.counts[r]) }
        accepted += after.track.acceptedCount - before.track.acceptedCount
        lateReconciled += taken.count - duplicates

        var change = Reconciliation(vehicleId: vid, positions: taken.count - duplicates,
                                    lateBy: taken.indices.compactMap { results[taken[$0].i] == .reconciled ? newest - taken[$0].fix.ts : nil })
        change.at = tracks[v].lastSeen
        apply(before: before.summary(evidence: false), after: after.summary(evidence: true), vehicle: vehicle, into: &change)
        out.reconciliations.append(change)
        return results
    }

    /// Positions of one vehicle in one message (a JT/T 808 batch): those newer than its newest in
    /// order, the late ones worked in together afterwards (one run of its kept fixes, not one
    /// each). The result of each, in the order given.
    public mutating func ingest(sameVehicle ps: [Position], into out: inout EngineOutput) -> [Result] {
        guard worksInLate, let first = ps.first, ps.count > 1 else { return ps.map { ingest($0, into: &out) } }
        var results: [Result] = []
        var late: [(fix: Fix, i: Int)] = []
        for p in ps {
            precondition(p.vehicle == first.vehicle, "ingest(sameVehicle:) takes one vehicle's positions")
            let r = feed(p.fix, vehicle: p.vehicle)
            if !scratch.isEmpty { drainEvents(into: &out) }
            if case .late(let f) = r { late.append((f, results.count)) }
            results.append(r.engineResult)
        }
        if !late.isEmpty {
            for (r, (_, i)) in zip(reconcile(late.map(\.fix), vehicle: first.vehicle, into: &out), late) { results[i] = r }
        }
        return results
    }

    /// A run of one vehicle's fixes through a copy of its track, from a kept state.
    struct Run {
        var track: VehicleTrack
        let vehicle: Int32
        var counts = RejectCounts()
        var events: [TrackEvent] = []

        init(_ track: VehicleTrack, vehicle: Int32) { self.track = track; self.vehicle = vehicle }

        mutating func offer(_ f: Fix, index: SiteIndex, settings: TrackSettings) {
            _ = track.offer(f, vehicle: vehicle, index: index, settings: settings, counts: &counts, events: &events)
        }

        /// The visits the run saw (opened, closed, or open at its end), its silent gaps, and (with
        /// `evidence`) the positions of each visit it reported.
        func summary(evidence: Bool) -> RunSummary {
            var s = RunSummary()
            for e in events {
                switch e {
                case .visitOpened(let o):
                    let k = VisitKey(site: o.site, start: o.start)
                    s.note(k) { $0.at = o.at; $0.pointsAtOpen = Int(o.points) }
                case .visitClosed(let c):
                    let k = VisitKey(site: c.site, start: c.start)
                    s.note(k) { $0.end = c.end; $0.points = Int(c.points) }
                case .evidence(let ev):
                    if evidence { s.evidence[VisitKey(site: ev.site, start: ev.start), default: []] += ev.fixes }
                case .trackerSilent(let g):
                    s.silent.append(g)
                }
            }
            if let st = track.stay, st.opened {
                s.note(VisitKey(site: st.site, start: st.first)) { $0.end = nil; $0.points = nil }
            }
            return s
        }
    }

    struct VisitKey: Hashable { var site: Int32; var start: Millis }

    struct RunVisit: Equatable {
        /// When it opened, if the run opened it.
        var at: Millis?
        var pointsAtOpen: Int?
        var end: Millis?
        var points: Int?
    }

    struct RunSummary {
        var visits: [VisitKey: RunVisit] = [:]
        var order: [VisitKey] = []
        var silent: [SilentGap] = []
        var evidence: [VisitKey: [Fix]] = [:]

        mutating func note(_ k: VisitKey, _ change: (inout RunVisit) -> Void) {
            if visits[k] == nil { visits[k] = RunVisit(); order.append(k) }
            change(&visits[k]!)
        }
    }

    /// Brings the visits, the rules and the alerts from what the run `before` said to what `after`
    /// says, into `change`.
    private mutating func apply(before: RunSummary, after: RunSummary, vehicle: Int32, into change: inout Reconciliation) {
        let vid = vehicleId(vehicle)
        let agency = agencyOf[Int(vehicle)]
        func id(_ k: VisitKey) -> String { RuleEngine.visitId(vehicleId: vid, siteId: registry.site(k.site).id, start: k.start) }
        func enterprise(_ k: VisitKey) -> String { registry.site(k.site).enterpriseId }
        var enterprises = Set<String>()
        var gone: [SeenVisit] = []
        var current: [VisitKey] = []
        for k in before.order where after.visits[k] == nil {
            guard let s = seenVisit(id: id(k), enterprise: enterprise(k)) else { continue }  // never opened: nothing was said of it
            gone.append(s)
            enterprises.insert(enterprise(k))
            let end = before.visits[k]?.end ?? Millis.max
            let replacement = after.order.first { n in
                n.site == k.site && n.start <= end && (after.visits[n]?.end ?? Millis.max) >= k.start
            }
            change.superseded.append((s.visitId, replacement.map(id)))
        }
        for k in after.order {
            let n = after.visits[k]!
            if let o = before.visits[k], o == n { continue }
            let vId = id(k)
            if let at = n.at ?? seenVisit(id: vId, enterprise: enterprise(k))?.at {
                current.append(k)
                enterprises.insert(enterprise(k))
                change.openedAt[vId] = at
            }
        }

        // The rules at each enterprise concerned: as they were, then with the visits as they are now.
        var diff = RulesDiff()
        let goneIds = Set(gone.map(\.visitId))
        for e in enterprises.sorted(by: byteOrder) {
            let upserts = current.filter { enterprise($0) == e }.map { k in
                SeenVisit(visitId: id(k), vehicleId: vid, agencyId: agency, siteId: registry.site(k.site).id,
                          start: k.start, at: change.openedAt[id(k)]!)
            }
            matchAgain(e, removing: goneIds, putting: upserts, into: &diff)
        }
        for g in before.silent {
            if let a = rules.trackerSilent(g, vehicleId: vid, agencyId: agency, registry: registry) { diff.alertsBefore[a.alertId] = a }
        }
        for g in after.silent {
            if let a = rules.trackerSilent(g, vehicleId: vid, agencyId: agency, registry: registry) { diff.alertsAfter[a.alertId] = a }
        }
        diff.finish(into: &change)
        let assignmentsBefore = diff.assignmentsBefore

        // The visit records as they are now, and the engine's open visits with them.
        for s in gone {
            guard let n = registry.siteNumbers[s.siteId] else { continue }
            openVisits.removeValue(forKey: OpenKey(vehicle: vehicle, site: n, start: s.start))
        }
        for k in current {
            let n = after.visits[k]!
            let vId = id(k)
            let site = registry.site(k.site)
            let key = OpenKey(vehicle: vehicle, site: k.site, start: k.start)
            let assignment = change.assignments[vId] ?? assignmentsBefore[vId] ?? openVisits[key].map {
                VisitAssignment(taskId: $0.taskId, occasionId: $0.occasionId)
            }
            guard let assignment else { continue }
            var record = VisitRecord(visitId: vId, vehicleId: vid, agencyId: agency, siteId: site.id, enterpriseId: site.enterpriseId,
                                     start: k.start, end: n.end, points: n.points ?? n.pointsAtOpen ?? openVisits[key]?.points ?? 0,
                                     taskId: assignment.taskId, occasionId: assignment.occasionId, openedAt: change.openedAt[vId]!)
            if n.end == nil, let st = tracks[Int(vehicle)].stay, st.first == k.start, st.site == k.site {
                record.points = n.pointsAtOpen ?? openVisits[key]?.points ?? Int(st.points)
                openVisits[key] = record
            } else {
                openVisits.removeValue(forKey: key)
            }
            change.visits.append(record)
        }
        takeAssignments(change.assignments)
        // Positions of the visits new or changed (those of the others are stored as they were).
        for k in current {
            guard let fixes = after.evidence[k], !fixes.isEmpty else { continue }
            change.evidence.append((id(k), fixes))
        }
    }

    /// What the rules said before and say after, at the enterprises matched again.
    struct RulesDiff {
        var alertsBefore: [String: AlertRecord] = [:], alertsAfter: [String: AlertRecord] = [:]
        var assignmentsBefore: [String: VisitAssignment] = [:], assignmentsAfter: [String: VisitAssignment] = [:]

        /// Alerts raised, changed and withdrawn; visits whose task or occasion changed.
        func finish(into change: inout Reconciliation) {
            for (aid, a) in alertsAfter.sorted(by: { byteOrder($0.key, $1.key) }) {
                if let was = alertsBefore[aid] {
                    if was != a { change.updated.append(a) }
                } else {
                    change.raised.append(a)
                }
            }
            for (aid, a) in alertsBefore.sorted(by: { byteOrder($0.key, $1.key) }) where alertsAfter[aid] == nil {
                change.withdrawn.append(a)
            }
            for (vId, a) in assignmentsAfter where assignmentsBefore[vId] != a { change.assignments[vId] = a }
        }
    }

    /// The rules at enterprise `e` as they were (its visits as seen), then with the visits `gone`
    /// removed and `upserts` put in (in the order of their opening, as replay takes them).
    mutating func matchAgain(_ e: String, removing gone: Set<String>, putting upserts: [SeenVisit], into diff: inout RulesDiff) {
        let old = (seen[e] ?? []).sorted(by: Self.openingOrder)
        for r in rules.rematch(enterprise: e, visits: old.map { facts($0, enterprise: e) }, registry: registry) {
            diff.assignmentsBefore[r.visitId] = r.assignment
            for a in r.alerts { diff.alertsBefore[a.alertId] = a }
        }
        var now = old.filter { !gone.contains($0.visitId) }
        for s in upserts {
            if let j = now.firstIndex(where: { $0.visitId == s.visitId }) { now[j] = s } else { now.append(s) }
        }
        now.sort(by: Self.openingOrder)
        seen[e] = now.isEmpty ? nil : now
        for r in rules.rematch(enterprise: e, visits: now.map { facts($0, enterprise: e) }, registry: registry) {
            diff.assignmentsAfter[r.visitId] = r.assignment
            for a in r.alerts { diff.alertsAfter[a.alertId] = a }
        }
    }

    /// The order the rules take visits in: when they opened, then id (`Engine.rematch`'s).
    static func openingOrder(_ a: SeenVisit, _ b: SeenVisit) -> Bool {
        a.at != b.at ? a.at < b.at : byteOrder(a.visitId, b.visitId)
    }

    /// Whether a visit opening now comes, in the order of openings (time, then id), before one the
    /// rules already took at its enterprise: another vehicle's positions came in earlier.
    func opensOutOfOrder(enterprise: String, at: Millis, visitId: String) -> Bool {
        seen[enterprise]?.contains { $0.at > at || ($0.at == at && byteOrder(visitId, $0.visitId)) } ?? false
    }

    /// A visit that opens before others the rules already took at its enterprise: the rules there
    /// again in order, what changes said as a reconciliation (the visit with it).
    mutating func openOutOfOrder(_ o: VisitOpening, into out: inout EngineOutput) {
        let vid = vehicleId(o.vehicle)
        let site = registry.site(o.site)
        let visitId = RuleEngine.visitId(vehicleId: vid, siteId: site.id, start: o.start)
        var diff = RulesDiff()
        matchAgain(site.enterpriseId, removing: [],
                   putting: [SeenVisit(visitId: visitId, vehicleId: vid, agencyId: agencyOf[Int(o.vehicle)], siteId: site.id,
                                       start: o.start, at: o.at)], into: &diff)
        var change = Reconciliation(vehicleId: vid, positions: 0, lateBy: [])
        change.at = o.at
        diff.finish(into: &change)
        guard let a = diff.assignmentsAfter[visitId] else { return }
        change.assignments[visitId] = nil
        let record = VisitRecord(visitId: visitId, vehicleId: vid, agencyId: agencyOf[Int(o.vehicle)], siteId: site.id,
                                 enterpriseId: site.enterpriseId, start: o.start, end: nil, points: Int(o.points),
                                 taskId: a.taskId, occasionId: a.occasionId, openedAt: o.at)
        openVisits[OpenKey(vehicle: o.vehicle, site: o.site, start: o.start)] = record
        takeAssignments(change.assignments)
        change.visits.append(record)
        out.reconciliations.append(change)
    }

    /// Open visits whose task or occasion the rules changed take the new one (they close with it).
    mutating func takeAssignments(_ assignments: [String: VisitAssignment]) {
        guard !assignments.isEmpty else { return }
        for (key, record) in openVisits {
            guard let a = assignments[record.visitId] else { continue }
            openVisits[key]?.taskId = a.taskId
            openVisits[key]?.occasionId = a.occasionId
        }
    }

    private func seenVisit(id: String, enterprise: String) -> SeenVisit? {
        seen[enterprise]?.first { $0.visitId == id }
    }

    func facts(_ s: SeenVisit, enterprise: String) -> RuleEngine.VisitFacts {
        // A site gone from the registry since keeps its id; its region is no longer known.
        let site = registry.siteNumbers[s.siteId].map(registry.site) ?? Site(id: s.siteId, enterpriseId: enterprise)
        return RuleEngine.VisitFacts(visitId: s.visitId, vehicleId: s.vehicleId, agencyId: s.agencyId, site: site,
                                     start: s.start, at: s.at)
    }
}

/// What late positions of one vehicle changed (SPEC §3.4), to be written after what came before
/// them: visits new or changed, visits superseded, other visits' new task or occasion, alerts
/// raised, changed and withdrawn.
public struct Reconciliation: Sendable {
    public var vehicleId: String
    /// Late positions worked in, and how far each was behind the vehicle's newest (milliseconds).
    public var positions: Int
    public var lateBy: [Millis]
    /// Visits that exist now and did not, or whose times or positions changed.
    public var visits: [VisitRecord] = []
    /// Visits that no longer exist as they were, with the visit that replaces each (if one does).
    public var superseded: [(visitId: String, by: String?)] = []
    /// Visits (of any vehicle at the enterprises concerned) whose task or occasion changed.
    public var assignments: [String: VisitAssignment] = [:]
    /// Positions of the visits above.
    public var evidence: [(visitId: String, fixes: [Fix])] = []
    public var raised: [AlertRecord] = []
    /// The same alert id with different content (its visit, time or evidence moved).
    public var updated: [AlertRecord] = []
    public var withdrawn: [AlertRecord] = []
    /// When each visit above opened.
    var openedAt: [String: Millis] = [:]
    /// The event time of the change: the newest position of the vehicle when it was made (the
    /// status history's time, the same on every run over the same input).
    public var at: Millis = 0

    public init(vehicleId: String, positions: Int, lateBy: [Millis]) {
        self.vehicleId = vehicleId; self.positions = positions; self.lateBy = lateBy
    }

    /// Takes what the engine said after it, so that it is written after it: a visit opened or
    /// closed, alerts raised (one it withdrew and that is raised again stands, changed).
    public mutating func absorb(visit: VisitRecord?, alerts: [AlertRecord]) {
        if let visit {
            superseded.removeAll { $0.visitId == visit.visitId }
            if let i = visits.firstIndex(where: { $0.visitId == visit.visitId }) { visits[i] = visit } else { visits.append(visit) }
        }
        for a in alerts {
            if let i = withdrawn.firstIndex(where: { $0.alertId == a.alertId }) {
                withdrawn.remove(at: i)
                updated.append(a)
            } else if let i = raised.firstIndex(where: { $0.alertId == a.alertId }) {
                raised[i] = a
            } else if let i = updated.firstIndex(where: { $0.alertId == a.alertId }) {
                updated[i] = a
            } else {
                raised.append(a)
            }
        }
    }

    /// Why, in the alert and visit histories.
    public static let reason = "补报定位重算 (positions received late)"

    /// What made it: late positions, or the judgement of code scans (SPEC §3.5).
    public enum Cause: String, Sendable { case latePositions = "late_positions", scans }
    public var cause = Cause.latePositions
    /// The note its status changes carry.
    public var note = Reconciliation.reason

    /// Decisions of the scan judge as changes of alerts, one per reason, at `at`.
    public static func scans(_ d: ScanJudge.Decisions, at: Millis) -> [Reconciliation] {
        var out: [Reconciliation] = []
        func make(_ note: String) -> Reconciliation {
            var r = Reconciliation(vehicleId: "", positions: 0, lateBy: [])
            r.cause = .scans
            r.note = note
            r.at = at
            return r
        }
        for reason in [ScanJudge.Reason.scanReceived, .occasionChanged] {
            let w = d.withdrawn.filter { $0.reason == reason }.map(\.alert)
            if !w.isEmpty { var r = make(reason.rawValue); r.withdrawn = w; out.append(r) }
        }
        if !d.raised.isEmpty { var r = make(ScanJudge.Reason.judged); r.raised = d.raised; out.append(r) }
        return out
    }
}
