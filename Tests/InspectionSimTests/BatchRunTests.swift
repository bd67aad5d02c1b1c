import InspectionCore
import InspectionSim
import InspectionTestSupport
import Testing

/// `Engine.run`, the batch run behind `replay`, groups the positions by vehicle and feeds the
/// rules in time order afterwards; it must say exactly what feeding `ingest` one position at a
/// time in time order (ties in input order) says — the daemon's way. Checked on a noisy
/// simulated fleet on the Kotka roads, the lines shuffled, every planted behaviour in it.
@Suite struct BatchRunTests {
    static func positions(_ s: Scenario, noise: Noise, into batch: inout TraceBatch) throws {
        var writer = TraceWriter(noise: noise, seed: 11)
        for (name, bytes) in writer.files(s) {
            try bytes.withUnsafeBufferPointer { try TraceParser.parse($0, format: .csv, file: name, into: &batch) }
        }
    }

    /// The reference: one position at a time, in stable time order, then the end of input.
    static func oneAtATime(_ engine: inout Engine, _ positions: [Position]) -> BatchResult {
        var ordered = positions
        let wasSorted = Engine.orderByTime(&ordered)
        var out = EngineOutput()
        var visits: [VisitRecord] = [], alerts: [AlertRecord] = []
        for p in ordered {
            _ = engine.ingest(p, into: &out)
            visits += out.closed
            alerts += out.alerts
            out.removeAll()
        }
        engine.finish(into: &out)
        visits += out.closed
        alerts += out.alerts
        Engine.sortForOutput(&visits, &alerts)
        return BatchResult(visits: visits, alerts: alerts, wasSorted: wasSorted)
    }

    @Test(arguments: [false, true])
    func theBatchRunSaysWhatOneAtATimeSays(shuffled: Bool) throws {
        var o = ScenarioOptions()
        o.seed = 5; o.vehicles = 24; o.days = 14
        let s = try SharedData.scenario(o)
        var noise = Noise()
        noise.jitterM = 15; noise.drop = 0.05; noise.duplicate = 0.03; noise.delay = 0.02; noise.reorder = 0.03
        noise.corrupt = 0.005; noise.clockSkewS = 20
        var batch = TraceBatch()
        try Self.positions(s, noise: noise, into: &batch)
        var positions = batch.positions
        if shuffled {
            var rng = SplitMix64(seed: 3)
            positions.shuffle(using: &rng)
        }
        var batchEngine = Engine(registry: s.registry, settings: EngineSettings(), vehicles: batch.vehicles)
        var referenceEngine = Engine(registry: s.registry, settings: EngineSettings(), vehicles: batch.vehicles)
        let got = batchEngine.run(positions)
        let expected = Self.oneAtATime(&referenceEngine, positions)

        #expect(got.visits.count > 500)
        // Every rule of the engine had its say (unscanned_visit is judged after it, from scans).
        #expect(Set(got.alerts.map(\.kind)) == Set(AlertKind.allCases).subtracting([.unscannedVisit]))
        #expect(got.visits == expected.visits)
        #expect(got.alerts == expected.alerts)
        #expect(got.wasSorted == expected.wasSorted)
        #expect(got.wasSorted == false)  // delayed and reordered lines
        #expect(batchEngine.counts == referenceEngine.counts)
        #expect(batchEngine.counts.total > 0)
        #expect(batchEngine.accepted == referenceEngine.accepted)
        #expect(batchEngine.rules.occasions == referenceEngine.rules.occasions)
    }
}
