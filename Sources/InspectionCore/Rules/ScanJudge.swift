/// The daemon's side of `unscanned_visit` (SPEC §3.5): scans as they arrive, the visits of the
/// occasions not yet judged or judged lately, and each occasion judged once it is due — the same
/// judgement (`ScanRule.judge`) replay makes at the end of its input. What changes later is said
/// as decisions, never done behind the caller's back: a scan that covers an occasion judged
/// uncovered withdraws its alerts; an occasion that gains, loses or moves a visit after it was
/// judged has its alerts withdrawn and is judged again at its new due time (the same alert ids:
/// raised again, they reopen). So the alerts that stand equal replay's, whatever the clock.
public struct ScanJudge: Sendable, Codable {
    /// What one call decided: alerts raised (or raised again) and withdrawn, each with why.
    public struct Decisions: Sendable, Equatable {
        public var raised: [AlertRecord] = []
        public var withdrawn: [(alert: AlertRecord, reason: Reason)] = []
        public var isEmpty: Bool { raised.isEmpty && withdrawn.isEmpty }

        public static func == (a: Decisions, b: Decisions) -> Bool {
            a.raised == b.raised && a.withdrawn.map(\.alert) == b.withdrawn.map(\.alert) && a.withdrawn.map(\.reason) == b.withdrawn.map(\.reason)
        }
    }

    public enum Reason: String, Sendable, Codable {
        /// A scan arrived that covers it.
        case scanReceived = "收到扫码记录 (scan received)"
        /// Its visits changed after it was judged (late positions, a task change): judged again.
        case occasionChanged = "检查次数变化，待重新判定 (occasion changed; judged again when due)"
        /// Judged with no scan covering it.
        public static let judged = "逾期未扫码 (no scan within scan_wait)"
    }

    struct Judged: Sendable, Codable {
        var due: Millis
        /// Its alerts when no scan covered it; empty when one did. In a checkpoint without their
        /// detail (a withdrawal needs only who and where).
        var alerts: [AlertRecord]

        init(due: Millis, alerts: [AlertRecord]) { self.due = due; self.alerts = alerts }

        private enum CodingKeys: String, CodingKey { case due, alerts }
        private struct Slim: Codable {
            var id: String, severity: String, at: Millis, enterprise: String, site: String, agency: String?, vehicle: String
            var visit: String?, task: String?
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            due = try c.decode(Millis.self, forKey: .due)
            alerts = try c.decode([Slim].self, forKey: .alerts).map {
                AlertRecord(alertId: $0.id, kind: .unscannedVisit, severity: Severity(rawValue: $0.severity) ?? .medium, at: $0.at,
                            enterpriseId: $0.enterprise, siteId: $0.site, agencyId: $0.agency, vehicleId: $0.vehicle, visitId: $0.visit,
                            taskId: $0.task, detail: .object([]))
            }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(due, forKey: .due)
            try c.encode(alerts.map { Slim(id: $0.alertId, severity: $0.severity.rawValue, at: $0.at, enterprise: $0.enterpriseId, site: $0.siteId,
                                           agency: $0.agencyId, vehicle: $0.vehicleId, visit: $0.visitId, task: $0.taskId) }, forKey: .alerts)
        }
    }

    public private(set) var book = ScanBook()
    /// The last row of the store's imported scans taken (`inspection-watch import --scans`).
    public var importedThrough: Int64 = 0
    /// Visits with an agency, of occasions not yet judged or judged within `keep`.
    private var visits: [String: VisitRecord] = [:]
    private var occasionVisits: [String: Set<String>] = [:]
    private var pending: Set<String> = []
    private var judged: [String: Judged] = [:]
    /// Withdrawals decided between two `judge` calls (a scan, a visit that moved).
    private var withdrawals: [(alert: AlertRecord, reason: Reason)] = []

    /// How long a judged occasion is kept after it was due: a scan later than that, or a visit
    /// joining it later, changes nothing any more.
    public static let keep: Millis = 7 * 86_400_000

    public init() {}

    public var pendingCount: Int { pending.count }
    public var judgedCount: Int { judged.count }

    // MARK: what the engine saw

    /// A visit opened, closed, or got a new task or occasion (the record as it is now).
    public mutating func visit(_ v: VisitRecord) {
        guard v.agencyId != nil else { return }
        if let old = visits[v.visitId] {
            if old == v { return }
            if old.occasionId != v.occasionId {
                occasionVisits[old.occasionId]?.remove(v.visitId)
                touch(old.occasionId)
            }
        }
        visits[v.visitId] = v
        occasionVisits[v.occasionId, default: []].insert(v.visitId)
        touch(v.occasionId)
    }

    /// A visit that no longer exists (superseded by late positions).
    public mutating func remove(visitId: String) {
        guard let old = visits.removeValue(forKey: visitId) else { return }
        occasionVisits[old.occasionId]?.remove(visitId)
        touch(old.occasionId)
    }

    /// A visit's new task and occasion (a re-match), if the visit is still kept.
    public mutating func assign(visitId: String, _ a: VisitAssignment) {
        guard var v = visits[visitId], v.taskId != a.taskId || v.occasionId != a.occasionId else { return }
        v.taskId = a.taskId
        v.occasionId = a.occasionId
        visit(v)
    }

    /// The occasion changed: judged again when due; alerts it raised are withdrawn meanwhile.
    private mutating func touch(_ occasion: String) {
        if let j = judged.removeValue(forKey: occasion) {
            for a in j.alerts { withdrawals.append((a, .occasionChanged)) }
        }
        if occasionVisits[occasion]?.isEmpty ?? true {
            occasionVisits[occasion] = nil
            pending.remove(occasion)
        } else {
            pending.insert(occasion)
        }
    }

    /// A scan received: `.new` ones withdraw the alerts of the judged occasions they cover.
    @discardableResult
    public mutating func add(_ scan: Scan, registry: Registry, settings: EngineSettings) -> ScanBook.Added {
        let added = book.add(scan)
        guard added == .new else { return added }
        for (id, j) in judged where !j.alerts.isEmpty && j.alerts[0].enterpriseId == scan.enterpriseId {
            guard let span = span(id, registry: registry), ScanRule.covers(scan, span, slack: settings.scanSlack) else { continue }
            for a in j.alerts { withdrawals.append((a, .scanReceived)) }
            judged[id] = Judged(due: j.due, alerts: [])
        }
        return added
    }

    // MARK: judging

    private func span(_ occasion: String, registry: Registry) -> ScanRule.Span? {
        guard let ids = occasionVisits[occasion], !ids.isEmpty else { return nil }
        return ScanRule.span(ids.compactMap { visits[$0] }, registry: registry)
    }

    /// Judges the occasions due at `now` (every visit closed, the last ended `scan_wait` ago or
    /// more), and returns that with the withdrawals decided since the last call. Forgets what
    /// was due more than `keep` before `eventTime` (the newest position's time: a clock far
    /// ahead of the positions — a backlog, a replayed history — must not forget what they are
    /// still about; `now` when not given), and scans too old to cover anything kept.
    public mutating func judge(now: Millis, eventTime: Millis? = nil, registry: Registry, settings: EngineSettings) -> Decisions {
        var d = Decisions()
        d.withdrawn = withdrawals
        withdrawals = []
        var due: [(Millis, String)] = []
        for o in pending {
            guard let ids = occasionVisits[o] else { continue }
            var last = Millis.min, open = false
            for id in ids {
                guard let v = visits[id] else { continue }
                if let e = v.end { last = max(last, e) } else { open = true }
            }
            if !open && last + settings.scanWait <= now { due.append((last + settings.scanWait, o)) }
        }
        // In due order (then id): the same order on every run.
        for (t, o) in due.sorted(by: { $0.0 != $1.0 ? $0.0 < $1.0 : byteOrder($0.1, $1.1) }) {
            pending.remove(o)
            guard let span = span(o, registry: registry) else { continue }
            let alerts = ScanRule.judge(span, book: book, settings: settings)
            judged[o] = Judged(due: t, alerts: alerts)
            d.raised += alerts
        }
        // A withdrawal and a raising of one alert in one call: the raising stands.
        let raisedIds = Set(d.raised.map(\.alertId))
        d.withdrawn.removeAll { raisedIds.contains($0.alert.alertId) }
        let reference = eventTime ?? now
        if reference > Millis.min + Self.keep { forget(before: reference - Self.keep, settings: settings) }
        return d
    }

    private mutating func forget(before horizon: Millis, settings: EngineSettings) {
        let old = judged.filter { $0.value.due < horizon }.map(\.key)
        for o in old {
            judged[o] = nil
            for id in occasionVisits.removeValue(forKey: o) ?? [] { visits[id] = nil }
        }
        if !old.isEmpty || book.count > 0 {
            // A scan before every kept or pending occasion's window can cover nothing any more.
            var earliest = horizon
            for ids in occasionVisits.values { for id in ids { if let v = visits[id], v.start < earliest { earliest = v.start } } }
            book.removeScans(before: earliest - settings.scanSlack)
        }
    }

    // Checkpoint: the scans, the kept visits, what is pending and what was judged.
    private enum CodingKeys: String, CodingKey { case scans, duplicates, conflicts, visits, pending, judged, importedThrough }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        book = ScanBook(try c.decode([Scan].self, forKey: .scans))
        book.restoreCounts(duplicates: try c.decode(Int.self, forKey: .duplicates), conflicts: try c.decode(Int.self, forKey: .conflicts))
        for v in try c.decode([VisitRecord].self, forKey: .visits) {
            visits[v.visitId] = v
            occasionVisits[v.occasionId, default: []].insert(v.visitId)
        }
        pending = Set(try c.decode([String].self, forKey: .pending))
        judged = try c.decode([String: Judged].self, forKey: .judged)
        importedThrough = try c.decodeIfPresent(Int64.self, forKey: .importedThrough) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(book.all, forKey: .scans)
        try c.encode(book.duplicates, forKey: .duplicates)
        try c.encode(book.conflicts, forKey: .conflicts)
        try c.encode(visits.values.sorted { byteOrder($0.visitId, $1.visitId) }, forKey: .visits)
        try c.encode(pending.sorted(by: byteOrder), forKey: .pending)
        try c.encode(judged, forKey: .judged)
        try c.encode(importedThrough, forKey: .importedThrough)
    }
}
