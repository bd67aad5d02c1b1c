import Foundation
import InspectionCore
import InspectionStore
import Testing

/// What late positions change, written to a real store: alerts withdrawn, reopened and changed are
/// published again with their status; a superseded visit is kept but no longer current.
@Suite struct ReconciliationStoreTests {
    static let alert = AlertRecord(alertId: "a-1", kind: .unregisteredVisit, severity: .high, at: 1_750_122_300_000,
                                   enterpriseId: "E1", siteId: "S1", agencyId: "A1", vehicleId: "V1", visitId: "v-1", taskId: nil,
                                   detail: .object([("visit_start", .time(1_750_122_000_000))]))
    static let visit = VisitRecord(visitId: "v-1", vehicleId: "V1", agencyId: "A1", siteId: "S1", enterpriseId: "E1",
                                   start: 1_750_122_000_000, end: nil, points: 21, taskId: nil, occasionId: "o-1",
                                   openedAt: 1_750_122_300_000)

    static func payload(_ e: OutboxEntry) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(e.payload))) as? [String: Any] ?? [:]
    }

    @Test func withdrawnReopenedAndChangedAlertsArePublishedAgainWithTheirStatus() async throws {
        let (store, cleanUp) = try StoreWriterTests.freshStore()
        defer { cleanUp() }
        var b = StoreBatch()
        b.visits = [Self.visit]
        b.alerts = [(Self.alert, "alerts/unregistered_visit/E1", 0)]
        let first = try store.commit(b)
        #expect(first.count == 1 && Self.payload(first[0])["status"] == nil)  // open: the record as SPEC has it
        try store.markPublished(first.map(\.id), at: 1)

        // Late positions move the visit's start: the visit is superseded, its alert withdrawn.
        var moved = Self.visit
        moved.visitId = "v-2"; moved.start -= 60_000
        var r = Reconciliation(vehicleId: "V1", positions: 4, lateBy: [7_200_000])
        r.at = 1_750_130_000_000
        r.visits = [moved]; r.superseded = [("v-1", "v-2")]; r.withdrawn = [Self.alert]
        var b2 = StoreBatch()
        b2.reconciliations = [r]
        try store.commit(b2)
        let again = try store.unpublished()
        #expect(again.map(\.alertId) == ["a-1"])
        #expect(again.first.map { Self.payload($0)["status"] as? String } == "withdrawn")
        #expect(try store.currentAlerts().isEmpty)
        #expect(try store.visits().map(\.visitId) == ["v-2"])
        #expect(try store.supersededVisits().map(\.visitId) == ["v-1"])
        #expect(try store.supersededVisits().first?.by == "v-2")
        try store.markPublished(again.map(\.id), at: 2)

        // More positions bring it back, changed: reopened, published again as it is now.
        var back = Self.alert
        back.at += 60_000
        var r2 = Reconciliation(vehicleId: "V1", positions: 1, lateBy: [3_600_000])
        r2.at = 1_750_131_000_000
        r2.raised = [back]
        var b3 = StoreBatch()
        b3.reconciliations = [r2]
        try store.commit(b3)
        let third = try store.unpublished()
        #expect(third.count == 1 && Self.payload(third[0])["status"] == nil)
        #expect(third.first?.topic == "alerts/unregistered_visit/E1")
        #expect(try store.currentAlerts().map { $0.json.serialized } == [back.json.serialized])
        let history = try await store.alertHistory(id: "a-1").map(\.status)
        #expect(history == [.open, .withdrawn, .open])
    }

    /// A reconciliation's alerts go where the configuration says alerts go (`mqtt.alert_topic_prefix`).
    @Test func anAlertALateRunRaisesIsQueuedUnderTheConfiguredPrefix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prefix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("store.sqlite").path, alertTopicPrefix: "office/alerts")
        var r = Reconciliation(vehicleId: "V1", positions: 1, lateBy: [60_000])
        r.visits = [Self.visit]; r.raised = [Self.alert]
        var b = StoreBatch()
        b.reconciliations = [r]
        let queued = try store.commit(b)
        #expect(queued.map(\.topic) == ["office/alerts/unregistered_visit/E1"])
    }
}
