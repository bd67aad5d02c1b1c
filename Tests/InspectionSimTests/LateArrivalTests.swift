import Foundation
import InspectionCore
import InspectionSim
import InspectionTestSupport
import Testing

/// SPEC §3.4's invariant: whatever the arrival order, as long as every position arrives within the
/// late horizon of its vehicle's newest, the visits and alerts the office is told of (neither
/// superseded nor withdrawn) are replay's, ids included. Simulated fleets on the Kotka roads,
/// positions sent through blind zones and in random late orders, many seeds.
@Suite struct LateArrivalTests {
    static func fleet(seed: UInt64, vehicles: Int, days: Int) throws -> (Scenario, TraceBatch) {
        var o = ScenarioOptions()
        o.seed = seed; o.vehicles = vehicles; o.days = days
        let s = try SharedData.scenario(o)
        var noise = Noise()
        noise.jitterM = 8; noise.drop = 0.03
        var batch = TraceBatch()
        try BatchRunTests.positions(s, noise: noise, into: &batch)
        return (s, batch)
    }

    /// The positions in `order` through an engine that works late ones in, one at a time as the
    /// daemon takes them, what it says kept as the office sees it; then the end of input.
    static func arriving(_ order: [Int], _ s: Scenario, _ batch: TraceBatch, settings: EngineSettings = EngineSettings())
        -> (ledger: Ledger, engine: Engine) {
        var engine = Engine(registry: s.registry, settings: settings, vehicles: batch.vehicles, lateHorizon: true)
        var ledger = Ledger()
        var out = EngineOutput()
        for i in order {
            _ = engine.ingest(batch.positions[i], into: &out)
            if !out.isEmpty { ledger.take(out); out.removeAll() }
        }
        engine.finish(into: &out)
        ledger.take(out)
        return (ledger, engine)
    }

    static func replay(_ s: Scenario, _ batch: TraceBatch, settings: EngineSettings = EngineSettings()) -> BatchResult {
        var engine = Engine(registry: s.registry, settings: settings, vehicles: batch.vehicles)
        return engine.run(batch.positions)
    }

    static func expectSame(_ got: (visits: [VisitRecord], alerts: [AlertRecord]), _ want: BatchResult, _ label: String) {
        #expect(got.visits.count == want.visits.count, "\(label): visits")
        #expect(got.alerts.count == want.alerts.count, "\(label): alerts")
        let gv = Dictionary(uniqueKeysWithValues: got.visits.map { ($0.visitId, $0) })
        let wv = Dictionary(uniqueKeysWithValues: want.visits.map { ($0.visitId, $0) })
        let missing = wv.keys.filter { gv[$0] == nil }.sorted(), extra = gv.keys.filter { wv[$0] == nil }.sorted()
        #expect(missing.isEmpty && extra.isEmpty, "\(label): visits missing \(missing.prefix(3)), extra \(extra.prefix(3))")
        let differing = wv.keys.filter { gv[$0] != nil && gv[$0] != wv[$0] }.sorted()
        #expect(differing.isEmpty, "\(label): \(differing.count) visits differ, e.g. \(differing.first.map { "\(gv[$0]!) vs \(wv[$0]!)" } ?? "")")
        let ga = Dictionary(uniqueKeysWithValues: got.alerts.map { ($0.alertId, $0) })
        let wa = Dictionary(uniqueKeysWithValues: want.alerts.map { ($0.alertId, $0) })
        let amissing = wa.keys.filter { ga[$0] == nil }.sorted(), aextra = ga.keys.filter { wa[$0] == nil }.sorted()
        #expect(amissing.isEmpty && aextra.isEmpty,
                "\(label): alerts missing \(amissing.prefix(3).map { "\(wa[$0]!.kind)" }), extra \(aextra.prefix(3).map { "\(ga[$0]!.kind) \(ga[$0]!.at)" })")
        let adiff = wa.keys.filter { ga[$0] != nil && ga[$0] != wa[$0] }.sorted()
        #expect(adiff.isEmpty, "\(label): \(adiff.count) alerts differ, e.g. \(adiff.first.map { "\(ga[$0]!.json.serialized)\nvs\n\(wa[$0]!.json.serialized)" } ?? "")")
    }

    @Test func inTimeOrderTheLateEngineSaysWhatReplaySays() throws {
        let (s, batch) = try Self.fleet(seed: 5, vehicles: 12, days: 9)
        var order = Array(batch.positions.indices)
        order.sort { batch.positions[$0].ts != batch.positions[$1].ts ? batch.positions[$0].ts < batch.positions[$1].ts : $0 < $1 }
        let (ledger, engine) = Self.arriving(order, s, batch)
        let want = Self.replay(s, batch)
        #expect(want.visits.count > 100)
        #expect(engine.lateReconciled == 0)
        Self.expectSame(ledger.current, want, "in order")
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func blindZonesReconcileToReplay(seed: UInt64) throws {
        let (s, batch) = try Self.fleet(seed: 5, vehicles: 12, days: 9)
        let zones = BlindZones(share: 0.3, seed: seed)
        let arrivals = zones.arrivals(vehicle: batch.positions.map(\.vehicle), ts: batch.positions.map(\.ts), calendar: s.calendar)
        let (ledger, engine) = Self.arriving(arrivals.map(\.index), s, batch)
        #expect(arrivals.filter(\.held).count > 100)
        #expect(engine.lateReconciled > 100)
        #expect(ledger.reconciliations > 10)
        Self.expectSame(ledger.current, Self.replay(s, batch), "blind zones, seed \(seed)")
    }

    /// The same blind zones sent as the JT/T 808 publisher sends them — each outage's fixes in
    /// 0x0704 batches of at most 50 — and each batch given to the engine together (its late fixes
    /// worked in with one run of the vehicle's kept fixes).
    @Test func blindZoneBatchesWorkedInTogetherReconcileToReplay() throws {
        let (s, batch) = try Self.fleet(seed: 5, vehicles: 12, days: 9)
        var options = Publisher.Options()
        options.format = .jt808; options.blindZone = 0.3; options.seed = 2
        let messages = Publisher.messages(batch.positions, options: options)
        #expect(messages.filter { $0.batch && $0.positions.count > 1 }.count > 20)
        var engine = Engine(registry: s.registry, settings: EngineSettings(), vehicles: batch.vehicles, lateHorizon: true)
        var ledger = Ledger()
        var out = EngineOutput()
        var runs = 0
        for m in messages {
            let ps = m.positions.map { batch.positions[$0] }
            _ = ps.count == 1 ? [engine.ingest(ps[0], into: &out)] : engine.ingest(sameVehicle: ps, into: &out)
            runs += out.reconciliations.filter { $0.positions > 0 }.count
            if !out.isEmpty { ledger.take(out); out.removeAll() }
        }
        engine.finish(into: &out)
        ledger.take(out)
        #expect(engine.lateReconciled > 100 && runs < engine.lateReconciled / 5)  // a run per batch, not per fix
        Self.expectSame(ledger.current, Self.replay(s, batch), "blind-zone batches")
    }

    /// A restart in the middle of blind zones: the checkpoint saved as the daemon saves it (full
    /// chunks of kept fixes apart, everything through JSON), a new engine resumed from it, the
    /// rest delivered — backlogs whose fixes go back before the restart included.
    @Test func aCheckpointWithItsChunksApartKeepsTheAbilityAcrossARestart() throws {
        let (s, batch) = try Self.fleet(seed: 5, vehicles: 12, days: 9)
        let zones = BlindZones(share: 0.3, seed: 3)
        let order = zones.arrivals(vehicle: batch.positions.map(\.vehicle), ts: batch.positions.map(\.ts), calendar: s.calendar).map(\.index)
        var engine = Engine(registry: s.registry, settings: EngineSettings(), vehicles: batch.vehicles, lateHorizon: true)
        var ledger = Ledger()
        var out = EngineOutput()
        let half = order.count / 2
        for i in order[..<half] {
            _ = engine.ingest(batch.positions[i], into: &out)
            if !out.isEmpty { ledger.take(out); out.removeAll() }
        }
        let (slim, apart) = engine.checkpoint().keepingFullChunksApart()
        #expect(apart.count >= 10)  // about a day of fixes a vehicle: the rest is past the horizon
        let stored = Dictionary(uniqueKeysWithValues: try apart.map { ($0.id, try JSONEncoder().encode($0.chunk)) })
        var restored = try JSONDecoder().decode(EngineCheckpoint.self, from: try JSONEncoder().encode(slim))
        #expect(restored.puttingChunksBack { id in stored[id].flatMap { try? JSONDecoder().decode(HistoryChunk.self, from: $0) } } == 0)
        var resumed = Engine(registry: s.registry, settings: EngineSettings(), restoring: restored, lateHorizon: true, into: &out)
        ledger.take(out); out.removeAll()
        let reconciledBefore = resumed.lateReconciled
        for i in order[half...] {
            _ = resumed.ingest(batch.positions[i], into: &out)
            if !out.isEmpty { ledger.take(out); out.removeAll() }
        }
        resumed.finish(into: &out)
        ledger.take(out)
        #expect(resumed.lateReconciled > reconciledBefore + 50)
        Self.expectSame(ledger.current, Self.replay(s, batch), "restarted halfway")
    }

    /// A random arrival order: each position, with probability `p`, held back a random time up to
    /// `maxDelay`; then sent in order of time plus delay (so every one arrives within `maxDelay`
    /// of its vehicle's newest).
    static func randomOrder(_ batch: TraceBatch, seed: UInt64, p: Double, maxDelay: Millis) -> [Int] {
        var rng = SplitMix64(seed: seed)
        let keys: [Millis] = batch.positions.map { q in
            let held = Double(rng.next() >> 11) / Double(1 << 53) < p
            return q.ts + (held ? Millis(rng.next() % UInt64(maxDelay)) : 0)
        }
        return batch.positions.indices.sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
    }

    static let small: (Scenario, TraceBatch) = try! fleet(seed: 8, vehicles: 5, days: 9)
    static let smallReplay: BatchResult = replay(small.0, small.1)

    /// Hundreds of random orders (fixed seeds), some with a few positions hours late, some with
    /// many minutes late.
    @Test(arguments: 0..<8)
    func randomLateOrdersReconcileToReplay(group: Int) throws {
        let (s, batch) = Self.small
        #expect(Self.smallReplay.visits.count > 30)
        var reconciled = 0
        for k in 0..<25 {
            let seed = UInt64(group * 25 + k)
            let (p, maxDelay): (Double, Millis) = seed % 2 == 0 ? (0.02, 6 * 3_600_000) : (0.3, 20 * 60_000)
            let (ledger, engine) = Self.arriving(Self.randomOrder(batch, seed: seed, p: p, maxDelay: maxDelay), s, batch)
            reconciled += engine.lateReconciled
            Self.expectSame(ledger.current, Self.smallReplay, "random order, seed \(seed)")
        }
        #expect(reconciled > 1000)
    }
}
