/// `unscanned_visit` (SPEC §3.5, §4.4): an occasion that no scan covers, judged `scan_wait` after
/// its last visit ended. A pure function of the occasion's visits and the scans; replay judges every
/// occasion at the end of its input, the daemon each one once it is due.
public enum ScanRule {
    /// What coverage needs of one occasion: where, when, whose scan counts, and each agency's
    /// first visit (where its alert goes).
    public struct Span: Sendable, Equatable {
        public var occasionId: String
        public var enterpriseId: String
        public var taskId: String?
        /// Start of its first visit, end of its last (an open visit counts by its opening).
        public var first: Millis
        public var last: Millis
        /// Agencies whose scan covers it: its task's agency and partners (one code for a joint
        /// task), or the one agency of an occasion without a task.
        public var scanAgencies: [String]
        /// Its visits by start, then `visit_id`; vehicles of no known agency left out.
        public var visits: [VisitRecord]
        /// Each agency it belongs to, in the order of its first visit, with that visit.
        public var firstVisits: [(agency: String, visit: VisitRecord)]

        public static func == (a: Span, b: Span) -> Bool {
            a.occasionId == b.occasionId && a.enterpriseId == b.enterpriseId && a.taskId == b.taskId && a.first == b.first
                && a.last == b.last && a.scanAgencies == b.scanAgencies && a.visits == b.visits
        }

        /// When it is judged: `scan_wait` after its last visit ended.
        public func due(_ settings: EngineSettings) -> Millis { last + settings.scanWait }
    }

    /// The occasions of these visits (those of vehicles with an agency), by occasion id.
    public static func spans(_ visits: [VisitRecord], registry: Registry) -> [Span] {
        var groups: [String: [VisitRecord]] = [:]
        for v in visits where v.agencyId != nil { groups[v.occasionId, default: []].append(v) }
        return groups.keys.sorted(by: byteOrder).map { span(groups[$0]!, registry: registry) }
    }

    /// One occasion from its visits (all of one occasion, each with an agency).
    public static func span(_ visits: [VisitRecord], registry: Registry) -> Span {
        let sorted = visits.sorted { $0.start != $1.start ? $0.start < $1.start : byteOrder($0.visitId, $1.visitId) }
        var firsts: [(agency: String, visit: VisitRecord)] = []
        for v in sorted where !firsts.contains(where: { $0.agency == v.agencyId! }) { firsts.append((v.agencyId!, v)) }
        let taskId = sorted.first!.taskId
        var scanAgencies = firsts.map(\.agency)
        if let t = taskId.flatMap({ registry.tasks[$0] }) {
            for a in t.agencies where !scanAgencies.contains(a) { scanAgencies.append(a) }
        }
        return Span(occasionId: sorted.first!.occasionId, enterpriseId: sorted.first!.enterpriseId, taskId: taskId,
                    first: sorted.first!.start, last: sorted.map { $0.end ?? $0.openedAt }.max()!,
                    scanAgencies: scanAgencies.sorted(by: byteOrder), visits: sorted, firstVisits: firsts)
    }

    /// Whether the scan covers the occasion: its enterprise, one of its agencies, within its
    /// visits widened by `scan_slack` on each side (both ends inclusive).
    public static func covers(_ s: Scan, _ o: Span, slack: Millis) -> Bool {
        s.enterpriseId == o.enterpriseId && o.scanAgencies.contains(s.agencyId) && s.at >= o.first - slack && s.at <= o.last + slack
    }

    /// The first scan (by time) that covers the occasion, if any.
    public static func coveringScan(_ o: Span, book: ScanBook, slack: Millis) -> Scan? {
        book.scans(atEnterprise: o.enterpriseId).first { covers($0, o, slack: slack) }
    }

    /// The alerts the occasion raises when judged: none if a scan covers it; otherwise one per
    /// agency it belongs to, on that agency's first visit in it, at its due time.
    public static func judge(_ o: Span, book: ScanBook, settings: EngineSettings) -> [AlertRecord] {
        guard coveringScan(o, book: book, slack: settings.scanSlack) == nil else { return [] }
        let due = o.due(settings)
        let atEnterprise = book.scans(atEnterprise: o.enterpriseId)
        return o.firstVisits.map { agency, v in
            // The agency's scans at the enterprise nearest in time to the occasion.
            let own = atEnterprise.filter { $0.agencyId == agency }
            let nearest = own.sorted { distance($0.at, o) != distance($1.at, o) ? distance($0.at, o) < distance($1.at, o) : byteOrder($0.scanId, $1.scanId) }
                .prefix(3)
            return AlertRecord(
                alertId: StableID.make("a-", [AlertKind.unscannedVisit.rawValue, o.occasionId, agency]),
                kind: .unscannedVisit, severity: settings.severity(.unscannedVisit), at: due,
                enterpriseId: o.enterpriseId, siteId: v.siteId, agencyId: agency, vehicleId: v.vehicleId, visitId: v.visitId,
                taskId: o.taskId,
                detail: .object([
                    ("occasion_id", .string(o.occasionId)),
                    ("window_from", .time(o.first - settings.scanSlack)),
                    ("window_to", .time(o.last + settings.scanSlack)),
                    ("scan_agencies", .array(o.scanAgencies.map(JSONValue.string))),
                    ("visits", .array(o.visits.suffix(RuleEngine.detailItems).map { v in
                        .object([("visit_id", .string(v.visitId)), ("vehicle_id", .string(v.vehicleId)), ("agency_id", .optional(v.agencyId)),
                                 ("site_id", .string(v.siteId)), ("start", .time(v.start)), ("end", v.end.map(JSONValue.time) ?? .null)])
                    })),
                    ("agency_scans_at_enterprise", .int(Int64(own.count))),
                    ("nearest_scans", .array(nearest.map(\.json))),
                ]))
        }
    }

    /// How far a time is from the occasion's visits (0 within them).
    static func distance(_ t: Millis, _ o: Span) -> Millis { t < o.first ? o.first - t : t > o.last ? t - o.last : 0 }

    /// Every occasion judged (replay's end of input), alerts in output order.
    public static func judgeAll(_ visits: [VisitRecord], book: ScanBook, settings: EngineSettings, registry: Registry) -> [AlertRecord] {
        spans(visits, registry: registry).flatMap { judge($0, book: book, settings: settings) }
    }

    /// The scans that cover no occasion (SPEC §3.5 "scans without a visit"), counted per agency.
    public static func withoutVisit(_ book: ScanBook, spans: [Span], slack: Millis) -> [Scan] {
        var byEnterprise: [String: [Span]] = [:]
        for s in spans { byEnterprise[s.enterpriseId, default: []].append(s) }
        return book.all.filter { scan in !(byEnterprise[scan.enterpriseId] ?? []).contains { covers(scan, $0, slack: slack) } }
    }
}
