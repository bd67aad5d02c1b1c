import InspectionCore
import Testing

/// SPEC §3.5 and §4.4 `unscanned_visit`, with plain values: visits from the town, scans as given.
@Suite struct ScanRuleTests {
    static func scan(_ id: String, _ agency: String, _ at: Millis, enterprise: String = "E-FACTORY", task: String? = nil) -> Scan {
        Scan(scanId: id, enterpriseId: enterprise, agencyId: agency, taskId: task, at: at)
    }

    /// The `unscanned_visit` alerts the scenario's visits raise when judged against these scans.
    static func judged(_ s: Scenario, _ scans: [Scan]) -> [AlertRecord] {
        let o = s.run()
        return ScanRule.judgeAll(o.visits, book: ScanBook(scans), settings: s.settings, registry: s.registry)
    }

    /// One visit 09:30–10:00.
    static func oneVisit() -> Scenario {
        var s = Scenario.town()
        s.inspect("amr-1", from: "2025-06-17 09:30")
        return s
    }

    @Test func anOccasionNoScanCoversRaisesOneAlertJudgedAfterTheWait() {
        let s = Self.oneVisit()
        let visit = s.run().visits[0]
        let alerts = Self.judged(s, [])
        #expect(alerts.count == 1)
        let a = alerts[0]
        #expect(a.kind == .unscannedVisit && a.severity == .medium && a.agencyId == "AMR" && a.visitId == visit.visitId)
        #expect(a.at == Town.t("2025-06-18 10:00"))  // last visit end + scan_wait 24 h
        #expect(a.detail["occasion_id"] == .string(visit.occasionId))
        #expect(a.detail["window_from"] == .time(Town.t("2025-06-17 07:30")) && a.detail["window_to"] == .time(Town.t("2025-06-17 12:00")))
        // Judged the same again: the same id.
        #expect(Self.judged(s, []).map(\.alertId) == [a.alertId])
        // A scan of the agency during the visit covers it.
        #expect(Self.judged(s, [Self.scan("S1", "AMR", Town.t("2025-06-17 09:40"))]).isEmpty)
    }

    @Test func bothEndsOfTheSlackAreInclusive() {
        let s = Self.oneVisit()
        let first = Town.t("2025-06-17 09:30"), last = Town.t("2025-06-17 10:00"), slack = s.settings.scanSlack
        #expect(Self.judged(s, [Self.scan("S", "AMR", first - slack)]).isEmpty)
        #expect(Self.judged(s, [Self.scan("S", "AMR", first - slack - 1)]).count == 1)
        #expect(Self.judged(s, [Self.scan("S", "AMR", last + slack)]).isEmpty)
        #expect(Self.judged(s, [Self.scan("S", "AMR", last + slack + 1)]).count == 1)
        // A scan before the officers arrive (the enterprise scanned at the gate) counts.
        #expect(Self.judged(s, [Self.scan("S", "AMR", first - 30 * 60_000)]).isEmpty)
    }

    @Test func aScanOfAnotherAgencyOrEnterpriseCoversNothing() {
        let s = Self.oneVisit()
        let at = Town.t("2025-06-17 09:40")
        #expect(Self.judged(s, [Self.scan("S", "ENV", at)]).count == 1)
        #expect(Self.judged(s, [Self.scan("S", "AMR", at, enterprise: "E-WORKSHOP")]).count == 1)
        // An agency the registry does not know is kept and matches nothing.
        #expect(Self.judged(s, [Self.scan("S", "NOBODY", at)]).count == 1)
    }

    @Test func aJointTasksOneCodeServesAllItsAgencies() {
        var s = Scenario.town()
        s.task("J1", agency: "AMR", partners: ["ENV"], enterprise: "E-FACTORY", kind: .joint, start: "2025-06-17", end: "2025-06-17",
               announced: "2025-06-10 09:00")
        s.inspect("amr-1", from: "2025-06-17 09:30")
        s.inspect("env-1", from: "2025-06-17 09:32")
        // Not scanned: one alert per agency, each on its own first visit.
        let none = Self.judged(s, [])
        #expect(none.map(\.agencyId) == ["AMR", "ENV"] || none.map(\.agencyId) == ["ENV", "AMR"])
        #expect(Set(none.map(\.vehicleId)) == ["amr-1", "env-1"] && none.allSatisfy { $0.taskId == "J1" })
        // Scanned by the partner only: the one code covers both.
        #expect(Self.judged(s, [Self.scan("S", "ENV", Town.t("2025-06-17 09:45"))]).isEmpty)
        // A partner that sent no vehicle may still scan for the task.
        var lead = Scenario.town()
        lead.task("J1", agency: "AMR", partners: ["FIRE"], enterprise: "E-FACTORY", kind: .joint, start: "2025-06-17", end: "2025-06-17",
                  announced: "2025-06-10 09:00")
        lead.inspect("amr-1", from: "2025-06-17 09:30")
        #expect(Self.judged(lead, [Self.scan("S", "FIRE", Town.t("2025-06-17 09:45"))]).isEmpty)
    }

    @Test func serviceVisitsAreJudgedTooAndUnknownTrackersNever() {
        var s = Scenario.town()
        s.task("SV", agency: "AMR", enterprise: "E-FACTORY", kind: .service, start: "2025-06-17", end: "2025-06-17")
        s.inspect("amr-1", from: "2025-06-17 09:30")
        s.inspect("stranger", from: "2025-06-18 09:30")
        let alerts = Self.judged(s, [])
        #expect(s.run().visits.count == 2)
        #expect(alerts.count == 1 && alerts[0].taskId == "SV" && alerts[0].vehicleId == "amr-1")
    }

    @Test func oneScanMayCoverSeveralOccasionsAndTheRestAreWithoutAVisit() {
        var s = Scenario.town()
        // Two occasions of AMR on one day: one by task, one without.
        s.task("T1", agency: "AMR", enterprise: "E-FACTORY", kind: .complaint, start: "2025-06-17 09:00", end: "2025-06-17 10:30")
        s.inspect("amr-1", from: "2025-06-17 09:30")
        s.inspect("amr-2", from: "2025-06-17 11:00")
        let visits = s.run().visits
        #expect(Set(visits.map(\.occasionId)).count == 2)
        let both = Self.scan("S1", "AMR", Town.t("2025-06-17 10:40"))
        #expect(Self.judged(s, [both]).isEmpty)
        let stray = Self.scan("S2", "AMR", Town.t("2025-06-20 10:00"))
        let spans = ScanRule.spans(visits, registry: s.registry)
        #expect(ScanRule.withoutVisit(ScanBook([both, stray]), spans: spans, slack: s.settings.scanSlack) == [stray])
    }

    @Test func aLaterVisitInTheOccasionMovesItsJudgementAndItsWindow() {
        var s = Self.oneVisit()
        let late = Self.scan("S", "AMR", Town.t("2025-06-17 15:30"))
        #expect(Self.judged(s, [late]).count == 1)  // 5.5 h after the only visit ended
        s.inspect("amr-2", from: "2025-06-17 14:00")  // same agency, same day: same occasion
        let alerts = Self.judged(s, [])
        #expect(alerts.count == 1 && alerts[0].at == Town.t("2025-06-18 14:30"))
        #expect(Self.judged(s, [late]).isEmpty)
    }

    @Test func duplicatesAreCountedAndTheFirstOfAConflictStands() {
        let a = Self.scan("S1", "AMR", Town.t("2025-06-17 09:40"))
        var book = ScanBook()
        #expect(book.add(a) == .new)
        #expect(book.add(a) == .duplicate)
        var other = a
        other.enterpriseId = "E-WORKSHOP"
        #expect(book.add(other) == .conflict)
        #expect(book.count == 1 && book.duplicates == 1 && book.conflicts == 1)
        #expect(book.scans(atEnterprise: "E-FACTORY") == [a] && book.scans(atEnterprise: "E-WORKSHOP").isEmpty)
        // Kept in time order whatever the order they came in.
        book.add(Self.scan("S0", "ENV", Town.t("2025-06-17 08:00")))
        #expect(book.scans(atEnterprise: "E-FACTORY").map(\.scanId) == ["S0", "S1"])
    }

    @Test func theDetailNamesTheAgencysNearestScans() {
        let s = Self.oneVisit()
        let far = Self.scan("S-far", "AMR", Town.t("2025-06-25 10:00"))
        let near = Self.scan("S-near", "AMR", Town.t("2025-06-17 13:00"))
        let other = Self.scan("S-env", "ENV", Town.t("2025-06-17 09:40"))
        let a = Self.judged(s, [far, near, other])
        #expect(a.count == 1)
        #expect(a[0].detail["agency_scans_at_enterprise"] == .int(2))
        #expect(a[0].detail["nearest_scans"] == .array([near.json, far.json]))
    }

    // MARK: validation, the same on every path

    @Test(arguments: [
        (["enterprise_id": "E", "agency_id": "A", "at": "2025-06-17T09:40:00+08:00"], "scan_id", "required"),
        (["scan_id": "S", "agency_id": "A", "at": "2025-06-17T09:40:00+08:00"], "enterprise_id", "required"),
        (["scan_id": "S", "enterprise_id": "E", "agency_id": "A", "at": "2025-06-17 09:40"], "at",
         "\"2025-06-17 09:40\" is not an RFC 3339 time with offset"),
        (["scan_id": "S\u{0}x", "enterprise_id": "E", "agency_id": "A", "at": "2025-06-17T09:40:00+08:00"], "scan_id", "contains a control character"),
        (["scan_id": String(repeating: "x", count: 129), "enterprise_id": "E", "agency_id": "A", "at": "2025-06-17T09:40:00+08:00"],
         "scan_id", "longer than 128 bytes"),
    ])
    func aBadFieldIsNamed(row: [String: String], field: String, message: String) {
        #expect(throws: TaskFieldError(field: field, message: message)) { try ScanFields.scan(from: row) }
    }

    @Test func jsonScansAreValidatedByTheSameCode() throws {
        let s = try ScanFields.scan(json: Array(#"{"scan_id":"S1","enterprise_id":"E\u0031","agency_id":"AMR","task_id":null,"at":"2025-06-17T09:40:00+08:00","x":[1]}"#.utf8))
        #expect(s == Scan(scanId: "S1", enterpriseId: "E1", agencyId: "AMR", taskId: nil, at: Town.t("2025-06-17 09:40")))
        #expect(throws: TaskFieldError(field: "agency_id", message: "must be a string")) {
            try ScanFields.scan(json: Array(#"{"scan_id":"S1","enterprise_id":"E","agency_id":7,"at":"2025-06-17T09:40:00+08:00"}"#.utf8))
        }
        #expect(throws: TaskFieldError(field: "payload", message: "not one JSON object")) { try ScanFields.scan(json: Array("[1]".utf8)) }
        #expect(throws: TaskFieldError(field: "at", message: "required")) {
            try ScanFields.scan(json: Array(#"{"scan_id":"S1","enterprise_id":"E","agency_id":"A"}"#.utf8))
        }
    }

    @Test func aCSVFileKeepsItsGoodLinesAndNamesTheBadOnes() throws {
        let text = "scan_id,enterprise_id,agency_id,task_id,at\nS1,E,AMR,,2025-06-17T09:40:00+08:00\nS2,E,,T,2025-06-17T09:40:00+08:00\nS3,E,ENV,T9,2025-06-17T01:41:00Z\n"
        let (scans, errors) = try ScanFields.parseCSV(Array(text.utf8), file: "scans.csv")
        #expect(scans.map(\.scanId) == ["S1", "S3"] && scans[1].taskId == "T9")
        #expect(errors == ["scans.csv:3: agency_id: required"])
        #expect(throws: RegistryError.self) { try ScanFields.parseCSV(Array("scan_id,at\n".utf8), file: "scans.csv") }
    }
}
