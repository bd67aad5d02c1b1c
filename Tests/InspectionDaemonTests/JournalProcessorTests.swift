import InspectionConfig
import InspectionCore
import InspectionDaemon
import InspectionStore
import Testing

/// The journal's entries through decoding and the engine, as plain values (no broker, no store).
@Suite struct JournalProcessorTests {
    static let registry = Registry(
        sites: [(Site(id: "S1", enterpriseId: "E1", region: "R1"), SiteGeometry(center: LatLon(lat: 30.17, lon: 121.26), radiusM: 60))],
        agencies: [Agency(id: "A1", name: "A1", jurisdiction: .everywhere)],
        vehicles: [Vehicle(id: "013900000001", agencyId: "A1")], tasks: [], margin: 30)

    static func processor() -> JournalProcessor {
        var daemon = DaemonSettings()
        daemon.subscriptions = [.init(filter: PayloadFormat.jt808.defaultFilter, format: .jt808)]
        return JournalProcessor(registry: registry, settings: EngineSettings(), daemon: daemon)
    }

    static func entry(_ seq: Int64, _ text: String) -> JournalEntry {
        JournalEntry(seq: seq, receivedAt: 1_750_200_000_000, subscription: 0, topic: "jt808/c1/013900000001/up", payload: Array(text.utf8))
    }

    static func body(_ time: String, status: Int = 2) -> String {
        #"{"alarm":0,"status":\#(status),"latitude":30170000,"longitude":121260000,"altitude":3,"speed":0,"direction":0,"time":"\#(time)"}"#
    }

    static func batch(_ items: [String]) -> String {
        #"{"header":{"msg_id":1796,"encrypt":0,"phone":"013900000001","msg_sn":9},"body":{"type":1,"length":\#(items.count),"location":[\#(items.joined(separator: ","))]}}"#
    }

    @Test func aBlindZoneBatchIsPositionsOfItsTerminalAndABadItemIsDeadLetteredAlone() {
        var p = Self.processor()
        // 09:00 to 09:10 at the site, every minute; the item at 09:03 says its fix is not valid.
        let items = (0...10).map { m in Self.body("25061709" + (m < 10 ? "0\(m)" : "\(m)") + "00", status: m == 3 ? 0 : 2) }
        let out = p.process([Self.entry(1, Self.batch(items))])
        #expect(p.engine.accepted == 10)
        #expect(out.deadLetters.count == 1)
        #expect(out.deadLetters.first?.reason == .invalidFix)
        #expect(out.deadLetters.first?.message.hasPrefix("body.location[3]") == true)
        #expect(out.processedSeq == 1)
        // Ten minutes at the site: the batch alone makes a visit of the terminal's vehicle.
        #expect(out.visits.map(\.vehicleId) == ["013900000001"])
        #expect(out.visits.first?.start == 1_750_122_000_000)
    }

    @Test func aBatchWhoseFramingIsBadIsOneDeadLetter() {
        var p = Self.processor()
        let bad = Self.batch([Self.body("250617090000")]).replacingOccurrences(of: #""type":1"#, with: #""type":7"#)
        let out = p.process([Self.entry(1, bad)])
        #expect(p.engine.accepted == 0)
        #expect(out.deadLetters.map(\.reason) == [.wrongType])
    }
}
