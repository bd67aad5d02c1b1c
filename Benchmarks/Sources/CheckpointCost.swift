import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionReplay

/// What a checkpoint costs the daemon with a grown state: the engine is run over the traces
/// (`--passes` times, each pass shifted later, so occasions pile up as in a long run), then, in
/// the same run: encoding the state (JSON, the store's format) and its size; and the engine's
/// next positions right after a snapshot is taken (the copy-on-write copies a checkpoint costs
/// the engine's thread) against the same positions without one.
struct CheckpointCost: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint")
    @Option var registry: String
    @Option var passes = 2
    @Option(help: "Positions timed after each snapshot.") var window = 2000
    @Argument var traces: [String]

    func run() throws {
        let (reg, _) = try loadRegistry(registry)
        var batch = TraceBatch()
        for t in traces {
            let bytes = try FileBytes.read(t)
            try bytes.withUnsafeBufferPointer { b in try TraceParser.parseCSV(b, file: t, into: &batch) }
        }
        var positions = batch.positions
        _ = Engine.orderByTime(&positions)
        let span = (positions.last?.ts ?? 0) - (positions.first?.ts ?? 0) + Timestamp.msPerDay
        var engine = Engine(registry: reg, settings: EngineSettings(), vehicles: batch.vehicles, evidence: true)
        var out = EngineOutput()
        var t = Clock.now()
        for pass in 0..<passes {
            for var p in positions {
                p.ts += Millis(pass) * span
                _ = engine.ingest(p, into: &out)
                out.removeAll()
            }
        }
        print(String(format: "state of %d positions (%d passes) built in %.1f s; resident %.0f MB", positions.count * passes, passes,
                     Clock.now() - t, Clock.residentMB().now))
        t = Clock.now()
        let state = try JSONEncoder().encode(engine.checkpoint())
        print(String(format: "encode: %.0f ms, %.1f MB (JSON)", (Clock.now() - t) * 1000, Double(state.count) / 1e6))

        // The next positions, a further pass: `window` at a time, alternately after a snapshot and not.
        var with: [Double] = [], without: [Double] = []
        var i = 0
        var round = 0
        while i + window <= positions.count && round < 40 {
            let snapshot: Engine? = round % 2 == 0 ? engine : nil
            t = Clock.now()
            for k in i..<(i + window) {
                var p = positions[k]
                p.ts += Millis(passes) * span
                _ = engine.ingest(p, into: &out)
                out.removeAll()
            }
            if snapshot == nil { without.append(Clock.now() - t) } else { with.append(Clock.now() - t) }
            withExtendedLifetime(snapshot) {}
            i += window
            round += 1
        }
        with.sort(); without.sort()
        func ms(_ a: [Double], _ q: Double) -> Double { a[min(a.count - 1, Int(q * Double(a.count)))] * 1000 }
        print(String(format: "%d positions after a snapshot: median %.1f ms, max %.1f ms; without: median %.1f ms, max %.1f ms (%d rounds each)",
                     window, ms(with, 0.5), with.last! * 1000, ms(without, 0.5), without.last! * 1000, with.count))
    }
}
