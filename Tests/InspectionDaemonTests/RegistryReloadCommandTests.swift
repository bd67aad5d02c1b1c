import Foundation
import GRDB
import InspectionConfig
@testable import InspectionCore
@testable import InspectionDaemon
@testable import InspectionStore
import Testing

/// A registry reload through the engine's command path, on a real store: what it changes is
/// committed first, and the engine takes the new registry only then.
@Suite struct RegistryReloadCommandTests {
    static func site(_ id: String, _ e: String, lat: Double) -> (Site, SiteGeometry) {
        (Site(id: id, enterpriseId: e, region: nil), SiteGeometry(center: LatLon(lat: lat, lon: 121.26), radiusM: 60))
    }

    static let both = Registry(sites: [site("S1", "E1", lat: 30.17), site("S2", "E2", lat: 30.20)],
                               agencies: [Agency(id: "A1", name: "A1", jurisdiction: .everywhere)],
                               vehicles: [Vehicle(id: "V1", agencyId: "A1")], tasks: [], margin: 30)
    static let withoutS1 = Registry(sites: [site("S2", "E2", lat: 30.20)], agencies: both.agencies.map { $0.value },
                                    vehicles: [Vehicle(id: "V1", agencyId: "A1")], tasks: [], margin: 30)

    @Test func aReloadWhoseWriteFailsLeavesTheEngineAsTheStoreHasIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("store.sqlite").path)
        var processor = JournalProcessor(registry: Self.both, settings: EngineSettings(), daemon: DaemonSettings())
        // Ten minutes at S1: an open visit.
        let entries = (0...10).map { m in
            JournalEntry(seq: Int64(m + 1), receivedAt: 1_750_200_000_000, subscription: 0, topic: "vehicles/V1/position",
                         payload: Array(#"{"vehicle":"V1","ts":\#(1_750_122_000 + m * 60),"lat":30.17,"lon":121.26}"#.utf8))
        }
        try store.commit(processor.process(entries))
        #expect(try store.visits().map(\.end) == [nil])

        let executor = CommandExecutor(configuration: Configuration(), store: store, loadRegistry: { Self.withoutS1 })
        // The store refuses the write (S1 gone: the visit there ends, its row is updated).
        try store.pool.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE UPDATE ON visits BEGIN SELECT RAISE(ABORT, 'refused'); END") }
        let failed = executor.execute(.reload(by: Caller(name: "test", agencyId: nil)), processor: &processor)
        guard case .failure(.failed) = failed else { Issue.record("the reload did not fail: \(failed)"); return }
        #expect(processor.engine.registry.sites.count == 2)  // the engine kept the registry the store has
        #expect(processor.engine.openVisits.count == 1)
        #expect(try store.visits().map(\.end) == [nil])

        try store.pool.write { try $0.execute(sql: "DROP TRIGGER refuse") }
        let done = executor.execute(.reload(by: Caller(name: "test", agencyId: nil)), processor: &processor)
        guard case .success(let r) = done else { Issue.record("the reload failed: \(done)"); return }
        #expect(r.registry?.sites == 1)
        #expect(processor.engine.registry.sites.count == 1)
        #expect(processor.engine.openVisits.isEmpty)
        #expect(try store.visits().map(\.end) == [1_750_122_600_000])  // ended at its last position at S1
    }
}
