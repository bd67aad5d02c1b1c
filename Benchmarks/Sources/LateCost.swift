import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionReplay

/// What working late positions in costs (SPEC §3.4): in-order ingest with and without the recent
/// fixes kept (same positions, alternating, same run); resident memory with a fleet reporting
/// every 15 s over the whole horizon; and the time to work in one vehicle's hour-long backlog.
struct LateCost: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "late")
    @Option var registry: String
    @Option var vehicles = 10_000
    @Option(help: "Hours of reports held (the horizon is 24 h).") var hours = 24.0
    @Option(help: "Hours of reports for the in-order ratio.") var ratioHours = 1.0
    @Option var rounds = 3

    /// A vehicle's fix at report `k`: 20 minutes at a site, 20 on the way to the next.
    static func fix(_ reg: Registry, vehicle v: Int, k: Int, t0: Millis) -> Position {
        let cycle = 160  // 40 min: 20 at a site, 20 on the way to the next
        let leg = k / cycle, step = k % cycle
        func centre(_ i: Int) -> (Double, Double) {
            let b = reg.index.box(Int32((v * 7919 + i * 104_729) % reg.sites.count))
            return ((b.minLat + b.maxLat) / 2, (b.minLon + b.maxLon) / 2)
        }
        let a = centre(leg), b = centre(leg + 1)
        let f = step < 80 ? 0 : Double(step - 80) / 80
        // A few metres of GPS noise, as real fixes have.
        let jitter = Double((k &* 2_654_435_761 &+ v) % 11 - 5) * 2e-6
        // In 1e-6 degrees, as a JT/T 808 terminal reports them.
        func micro(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }
        return Position(vehicle: Int32(v), ts: t0 + Millis(k) * 15_000,
                        lat: micro(a.0 + (b.0 - a.0) * f + jitter), lon: micro(a.1 + (b.1 - a.1) * f - jitter))
    }

    func run() throws {
        let (reg, _) = try loadRegistry(registry)
        let t0: Millis = 1_750_118_400_000
        var names = ByteInterner(capacity: vehicles)
        for v in 0..<vehicles { _ = names.intern("L\(v)") }

        // 1. In order, with and without the history kept: the same positions, alternating.
        let reports = Int(ratioHours * 240)
        var best = (plain: Double.infinity, late: Double.infinity)
        for _ in 0..<rounds {
            for keep in [false, true] {
                var engine = Engine(registry: reg, settings: EngineSettings(), vehicles: names, lateHorizon: keep)
                var out = EngineOutput()
                let t = Clock.now()
                for k in 0..<reports {
                    for v in 0..<vehicles { _ = engine.ingest(Self.fix(reg, vehicle: v, k: k, t0: t0), into: &out) }
                    out.removeAll()
                }
                let s = Clock.now() - t
                if keep { best.late = min(best.late, s) } else { best.plain = min(best.plain, s) }
            }
        }
        let n = Double(reports * vehicles)
        print(String(format: "in order, %d positions: %.0f positions/s without the history, %.0f with it (%.3f of without)",
                     reports * vehicles, n / best.plain, n / best.late, best.plain / best.late))

        // 2. Resident memory with the whole horizon held.
        let before = Clock.residentMB().now
        var engine = Engine(registry: reg, settings: EngineSettings(), vehicles: names, lateHorizon: true)
        var out = EngineOutput()
        let total = Int(hours * 240)
        let t = Clock.now()
        for k in 0..<total {
            for v in 0..<vehicles { _ = engine.ingest(Self.fix(reg, vehicle: v, k: k, t0: t0), into: &out) }
            out.removeAll()
        }
        let feed = Clock.now() - t
        let after = Clock.residentMB()
        let c = engine.checkpoint()
        print(String(format: "%d vehicles × %.0f h every 15 s (%d positions, fed in %.0f s): %d fixes kept, %.1f bytes a fix encoded;"
                     + " resident %.0f MB (%.0f MB before the engine), peak %.0f MB",
                     vehicles, hours, total * vehicles, feed, c.historyFixes, Double(engine.historyBytes) / Double(max(1, c.historyFixes)),
                     after.now, before, after.peak))

        // The engine's checkpoint with all of it (the daemon saves one every 30 s by default).
        let encodeStart = Clock.now()
        let bytes = try JSONEncoder().encode(c).count
        print(String(format: "the engine's checkpoint with it: %.0f MB of JSON, encoded in %.1f s", Double(bytes) / 1_048_576,
                     Clock.now() - encodeStart))
        // As the daemon saves it: the full chunks apart (each written once), the rest every time.
        let slimStart = Clock.now()
        let (slim, apart) = c.keepingFullChunksApart()
        let slimBytes = try JSONEncoder().encode(slim).count
        print(String(format: "  with the full chunks apart (%d chunks, written once each): %.1f MB of JSON, encoded in %.2f s",
                     apart.count, Double(slimBytes) / 1_048_576, Clock.now() - slimStart))

        // 3. One vehicle's hour-long backlog, two hours behind its newest, after the whole horizon:
        // as one batch (a 0x0704 run) and one message at a time.
        guard total >= 480 else { print("(no backlog measured: --hours under 2)"); return }
        let v: Int32 = 0
        let newest = t0 + Millis(total - 1) * 15_000
        let backlog = (0..<240).map { i -> Fix in
            var p = Self.fix(reg, vehicle: 0, k: total - 480 + i, t0: t0)
            p.ts += 7_000  // between the kept reports
            return p.fix
        }
        precondition(backlog.allSatisfy { $0.ts < newest })
        var timings: [Double] = []
        for _ in 0..<rounds {
            var copy = engine
            var o = EngineOutput()
            let s = Clock.now()
            _ = copy.reconcile(backlog, vehicle: v, into: &o)
            timings.append(Clock.now() - s)
        }
        var single: [Double] = []
        for _ in 0..<rounds {
            var copy = engine
            var o = EngineOutput()
            let s = Clock.now()
            for f in backlog { _ = copy.ingest(Position(vehicle: v, ts: f.ts, lat: f.lat, lon: f.lon), into: &o); o.removeAll() }
            single.append(Clock.now() - s)
        }
        print(String(format: "a 1-hour backlog (240 fixes) 2 h behind, 24 h kept: %.1f ms as one batch, %.0f ms one at a time (best of %d)",
                     timings.min()! * 1000, single.min()! * 1000, rounds))
    }
}
