import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionReplay

enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Resident memory now and at its peak, MB (from /proc/self/status).
    static func residentMB() -> (now: Double, peak: Double) {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func kb(_ key: String) -> Double {
            for line in text.split(separator: "\n") where line.hasPrefix(key) {
                return Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "0") ?? 0
            }
            return 0
        }
        return (kb("VmRSS:") / 1024, kb("VmHWM:") / 1024)
    }
}

func loadRegistry(_ dir: String) throws -> (Registry, Double) {
    let start = Clock.now()
    let r = try RegistryDirectory.load(dir, parser: RegistryParser())
    return (r, Clock.now() - start)
}

/// Replay throughput: CSV file → parse → engine, one core; and, as the baseline in the same run,
/// the same file only parsed.
struct ReplayThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay")
    @Option var registry: String
    @Option var positions: String
    @Option var rounds = 3

    func run() throws {
        let (reg, loadS) = try loadRegistry(registry)
        print("registry: \(reg.sites.count) sites loaded in \(String(format: "%.2f", loadS)) s")
        var best = (parse: Double.infinity, full: Double.infinity)
        var summary: Replay.Summary?
        for _ in 0..<rounds {
            var t = Clock.now()
            let bytes = try FileBytes.read(positions)
            var batch = TraceBatch()
            bytes.withUnsafeBufferPointer { b in try? TraceParser.parseCSV(b, into: &batch) }
            precondition(batch.positions.count > 0)
            best.parse = min(best.parse, Clock.now() - t)
            t = Clock.now()
            let again = try FileBytes.read(positions)
            summary = try Replay.process(registry: reg, settings: EngineSettings(), inputs: [(positions, again)])
            best.full = min(best.full, Clock.now() - t)
        }
        guard let s = summary else { return }
        let n = Double(s.linesRead)
        print(String(format: "positions: %d, visits %d, alerts %d", s.linesRead, s.visits.count, s.alerts.count))
        print(String(format: "parse only (baseline): %.0f positions/s", n / best.parse))
        print(String(format: "replay end to end:     %.0f positions/s  (%.2f of parse-only)", n / best.full, best.parse / best.full))
        print(String(format: "resident peak: %.0f MB", Clock.residentMB().peak))
    }
}

/// The spatial query alone: "which site is this point at" for every point of a file.
struct SpatialThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spatial")
    @Option var registry: String
    @Option var points: String
    @Option var rounds = 3

    func run() throws {
        let (reg, _) = try loadRegistry(registry)
        let text = try FileBytes.read(points)
        var lats: [Double] = [], lons: [Double] = []
        text.withUnsafeBufferPointer { b in
            var s = 0
            var comma = 0
            for i in 0..<b.count {
                if b[i] == 44 { comma = i }
                if b[i] == 10 {
                    lats.append(NumberParsing.double(b, s, comma)!)
                    lons.append(NumberParsing.double(b, comma + 1, i)!)
                    s = i + 1
                }
            }
        }
        var best = (best: Double.infinity, all: Double.infinity, ahead: Double.infinity)
        var hits = 0, pairs = 0, hitsAhead = 0
        let index = reg.index
        for _ in 0..<rounds {

            var t = Clock.now()
            hits = 0
            for i in lats.indices where reg.index.bestSite(lat: lats[i], lon: lons[i]) != nil { hits += 1 }
            best.best = min(best.best, Clock.now() - t)
            t = Clock.now()
            pairs = 0
            for i in lats.indices { pairs += reg.index.sitesAt(lat: lats[i], lon: lons[i]).count }
            best.all = min(best.all, Clock.now() - t)
            // The batch run's look-ahead (`SiteIndex.prefetchCells`): the same queries, each one's
            // reads started while the three before it are answered.
            t = Clock.now()
            hitsAhead = 0
            let n = lats.count
            for i in 0..<n {
                if i + 3 < n { index.prefetchCells(lat: lats[i + 3], lon: lons[i + 3]) }
                if i + 2 < n { index.prefetchCandidates(lat: lats[i + 2], lon: lons[i + 2]) }
                if i + 1 < n { index.prefetchOutlines(lat: lats[i + 1], lon: lons[i + 1]) }
                if index.bestSite(lat: lats[i], lon: lons[i]) != nil { hitsAhead += 1 }
            }
            best.ahead = min(best.ahead, Clock.now() - t)
        }
        let n = Double(lats.count)
        print(String(format: "points: %d, at a site: %d, point-site pairs within margin: %d", lats.count, hits, pairs))
        print(String(format: "bestSite (nearest, area, id): %.0f points/s", n / best.best))
        print(String(format: "sitesAt (all within margin):  %.0f points/s", n / best.all))
        precondition(hitsAhead == hits, "the look-ahead changed an answer")
        print(String(format: "bestSite with look-ahead:     %.0f points/s  (%.2fx bestSite alone)", n / best.ahead, best.best / best.ahead))

    }
}

/// Resident memory with the sites loaded and every vehicle holding an open stay.
struct Memory: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "memory")
    @Option var registry: String
    @Option var vehicles = 50_000

    func run() throws {
        let before = Clock.residentMB().now
        let (reg, _) = try loadRegistry(registry)
        let loaded = Clock.residentMB().now
        var engine = Engine(registry: reg, settings: EngineSettings())
        var out = EngineOutput()
        let t0: Millis = 1_750_118_400_000
        for v in 0..<vehicles {
            let site = reg.index.box(Int32(v % reg.sites.count))
            let lat = (site.minLat + site.maxLat) / 2, lon = (site.minLon + site.maxLon) / 2
            let n = engine.vehicleNumber("M\(v)")
            for k in 0..<12 { _ = engine.ingest(Position(vehicle: n, ts: t0 + Millis(k) * 30_000, lat: lat, lon: lon), into: &out) }
            out.removeAll()
        }
        let r = Clock.residentMB()
        print(String(format: "resident: %.0f MB at start, %.0f MB with %d sites, %.0f MB with %d vehicles in stays (peak %.0f MB)",
                     before, loaded, reg.sites.count, r.now, vehicles, r.peak))
    }
}
