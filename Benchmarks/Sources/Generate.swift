import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionReplay

/// A synthetic city for benchmarks: sites of every size, a fleet that drives and stops at sites.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate",
        abstract: "Writes a registry, positions.csv (time-sorted) and points.csv for the benchmarks.")

    @Option var sites = 100_000
    @Option var vehicles = 10_000
    @Option(help: "Positions per vehicle.") var fixes = 200
    @Option var seed: UInt64 = 1
    @Option var out: String

    static let centre = LatLon(lat: 31.20, lon: 121.45)
    static let spanM = 40_000.0

    func run() throws {
        var rng = SplitMix64(seed: seed)
        try FileBytes.makeDirectory(out)
        let kx = Geo.metresPerDegree * cos(Self.centre.lat * .pi / 180)
        func point(_ x: Double, _ y: Double) -> LatLon {
            LatLon(lat: Self.centre.lat + (y - Self.spanM / 2) / Geo.metresPerDegree, lon: Self.centre.lon + (x - Self.spanM / 2) / kx)
        }
        // sites
        var features: [String] = []
        var centres: [(Double, Double)] = []
        features.reserveCapacity(sites)
        for i in 0..<sites {
            let x = rng.unit() * Self.spanM, y = rng.unit() * Self.spanM
            let r = rng.unit()
            let size = r < 0.90 ? 20 + rng.unit() * 100 : (r < 0.99 ? 120 + rng.unit() * 380 : 500 + rng.unit() * 1500)
            let region = "R\(Int(x / 10_000))\(Int(y / 10_000))"
            let props = "\"site_id\":\"S\(String(format: "%06d", i))\",\"enterprise_id\":\"E\(String(format: "%06d", i / 2 * 2 == i ? i : i - 1))\",\"region\":\"\(region)\""
            centres.append((x, y))
            if i % 10 == 0 {
                let c = point(x, y)
                features.append("{\"type\":\"Feature\",\"properties\":{\(props),\"radius_m\":\(Int(size / 2))},\"geometry\":{\"type\":\"Point\",\"coordinates\":[\(c.lon),\(c.lat)]}}")
                continue
            }
            let angle = rng.unit() * .pi
            let aspect = 0.4 + rng.unit() * 0.6
            let n = i % 3 == 0 ? 8 : 4
            func ring(_ scale: Double) -> String {
                (0...n).map { k -> String in
                    let t = Double(k % n) / Double(n) * 2 * .pi + .pi / Double(n)
                    let ux = cos(t) * size / 2 * scale, uy = sin(t) * size / 2 * aspect * scale
                    let p = point(x + ux * cos(angle) - uy * sin(angle), y + ux * sin(angle) + uy * cos(angle))
                    return "[\(p.lon),\(p.lat)]"
                }.joined(separator: ",")
            }
            let rings = i % 50 == 1 ? "[\(ring(1))],[\(ring(0.4))]" : "[\(ring(1))]"
            features.append("{\"type\":\"Feature\",\"properties\":{\(props)},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[\(rings)]}}")
        }
        try FileBytes.write(Array(("{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "]}\n").utf8),
                            to: out + "/sites.geojson")
        let agencies = ["AMR", "ENV", "SAFETY", "FIRE", "CITY", "HEALTH"]
        var agencyCSV = "agency_id,name,jurisdiction\n"
        for (k, a) in agencies.enumerated() {
            agencyCSV += k == 1 ? "\(a),\(a),*\n" : "\(a),\(a),\((0..<4).flatMap { x in (0..<4).map { "R\(x)\($0)" } }.filter { _ in rng.unit() < 0.8 }.joined(separator: ";"))\n"
        }
        try FileBytes.write(Array(agencyCSV.utf8), to: out + "/agencies.csv")
        var vehicleCSV = "vehicle_id,agency_id,plate\n"
        for v in 0..<vehicles { vehicleCSV += "V\(String(format: "%05d", v)),\(agencies[v % agencies.count]),\n" }
        try FileBytes.write(Array(vehicleCSV.utf8), to: out + "/vehicles.csv")
        let t0: Millis = 1_750_118_400_000  // 2025-06-17 08:00 +08:00
        var taskCSV = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
        let kinds = TaskKind.allCases
        for k in 0..<(sites / 5) {
            let e = Int(rng.unit() * Double(sites)) / 2 * 2
            taskCSV += "T\(k),\(agencies[k % agencies.count]),,E\(String(format: "%06d", e)),,\(kinds[k % kinds.count].rawValue),2025-06-17,2025-06-18,\(k % 4 == 0 ? "" : "2025-06-10T09:00:00+08:00"),,\n"
        }
        try FileBytes.write(Array(taskCSV.utf8), to: out + "/tasks.csv")

        // the fleet: drive to a random point or a site, park there a while, repeat
        var rows: [(ts: Millis, v: Int32, lat: Double, lon: Double, speed: Float)] = []
        rows.reserveCapacity(vehicles * fixes)
        for v in 0..<vehicles {
            var x = rng.unit() * Self.spanM, y = rng.unit() * Self.spanM
            var t = t0 + Millis(rng.unit() * 3_600_000)
            var made = 0
            while made < fixes {
                let toSite = rng.unit() < 0.3
                let (tx, ty) = toSite ? centres[Int(rng.unit() * Double(centres.count))] : (rng.unit() * Self.spanM, rng.unit() * Self.spanM)
                let dist = ((tx - x) * (tx - x) + (ty - y) * (ty - y)).squareRoot()
                let legM = min(dist, 2000 + rng.unit() * 4000)
                let speed = (30 + rng.unit() * 30) / 3.6
                let steps = max(1, Int(legM / speed / 15))
                for s in 1...steps where made < fixes {
                    let f = Double(s) / Double(steps) * legM / max(dist, 1)
                    let p = point(x + (tx - x) * f, y + (ty - y) * f)
                    t += Millis(10_000 + rng.unit() * 20_000)
                    rows.append((t, Int32(v), p.lat, p.lon, Float(speed * 3.6)))
                    made += 1
                }
                let f = legM / max(dist, 1)
                x += (tx - x) * f; y += (ty - y) * f
                if toSite && legM >= dist {
                    let park = Int(8 + rng.unit() * 32)
                    for _ in 0..<park where made < fixes {
                        t += 60_000
                        let p = point(x + rng.unit() * 8 - 4, y + rng.unit() * 8 - 4)
                        rows.append((t, Int32(v), p.lat, p.lon, 0))
                        made += 1
                    }
                }
            }
        }
        rows.sort { $0.ts != $1.ts ? $0.ts < $1.ts : $0.v < $1.v }
        var csv: [UInt8] = Array("vehicle_id,ts,lat,lon,speed_kmh\n".utf8)
        csv.reserveCapacity(rows.count * 48)
        var points: [UInt8] = []
        for (k, r) in rows.enumerated() {
            csv += Array("V\(String(format: "%05d", r.v)),\(r.ts / 1000),\(String(format: "%.6f", r.lat)),\(String(format: "%.6f", r.lon)),\(String(format: "%.1f", r.speed))\n".utf8)
            if k % 2 == 0 { points += Array("\(String(format: "%.6f", r.lat)),\(String(format: "%.6f", r.lon))\n".utf8) }
        }
        try FileBytes.write(csv, to: out + "/positions.csv")
        try FileBytes.write(points, to: out + "/points.csv")
        print("generated \(sites) sites, \(vehicles) vehicles, \(rows.count) positions in \(out)")
    }
}
