import Foundation
import InspectionCore

/// Seed corpora from real data (`../shared/data`): payloads encoded from real fixes in each format,
/// slices of the real traces as CSV and NDJSON, real OSM outlines as sites, registry tables and
/// the example configuration. Written to `out/<target>/`, never committed.
public enum Seeds {
    public static func write(data: String, repo: String, to out: String) throws {
        let fm = FileManager.default
        func put(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
            let dir = out + "/" + target.rawValue
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        // Real fixes: every 25th line of each trace.
        var fixes: [(vehicle: String, ts: Millis, lat: Double, lon: Double, line: String)] = []
        var headers: [String] = []
        for file in ["aalto-helsinki.csv", "limerick-bus304.csv", "geolife-beijing.csv"] {
            let text = try String(contentsOfFile: data + "/traces/" + file, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            headers.append(lines[0])
            for (i, line) in lines.dropFirst().enumerated() where i % 25 == 0 && i < 5000 {
                let f = line.split(separator: ",", omittingEmptySubsequences: false)
                guard f.count >= 4, let ts = Millis(f[1]), let lat = Double(f[2]), let lon = Double(f[3]) else { continue }
                fixes.append((String(f[0]), ts * 1000, lat, lon, line))
            }
        }
        for (i, fix) in fixes.enumerated() where i % 4 == 0 {
            for target in [FuzzTarget.native, .owntracks, .jt808] {
                var topic: [UInt8] = [], payload: [UInt8] = []
                PayloadEncoder.encode(PayloadFormat(rawValue: target.rawValue)!, vehicle: fix.vehicle, ts: fix.ts, lat: fix.lat, lon: fix.lon,
                                      speedKmh: Float(i % 90), topic: &topic, payload: &payload)
                try put(target, "fix-\(i)", payload)
            }
        }
        // JT/T 808 blind-zone batches (0x0704) of 1 to 8 consecutive real fixes.
        for start in stride(from: 0, to: fixes.count, by: 40) {
            let slice = fixes[start..<min(fixes.count, start + 1 + start % 8)]
            var topic: [UInt8] = [], payload: [UInt8] = []
            PayloadEncoder.encodeJT808Batch(vehicle: slice.first!.vehicle, fixes: slice.map { ($0.ts, $0.lat, $0.lon, Float.nan) },
                                            topic: &topic, payload: &payload)
            try put(.jt808, "batch-\(start)", payload)
        }
        // Trace slices of 12 lines, as CSV with the header and as NDJSON.
        for start in stride(from: 0, to: fixes.count, by: 12) {
            let slice = fixes[start..<min(fixes.count, start + 12)]
            try put(.traceCSV, "slice-\(start)", Array((headers[0] + "\n" + slice.map(\.line).joined(separator: "\n") + "\n").utf8))
            let nd = slice.map { #"{"vehicle":"\#($0.vehicle)","ts":\#($0.ts / 1000),"lat":\#($0.lat),"lon":\#($0.lon)}"# }
            try put(.traceNDJSON, "slice-\(start)", Array((nd.joined(separator: "\n") + "\n").utf8))
        }
        // Real outlines: one to three OSM features per file, with the registry's properties.
        var siteIds: [String] = []
        for file in ["kotka-polygons.geojson", "helsinki-polygons.geojson"] {
            let fc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/osm/" + file))) as! [String: Any]
            let features = fc["features"] as! [[String: Any]]
            for (i, f) in features.enumerated() where i % 20 == 0 {
                var group: [[String: Any]] = []
                for (k, g) in features[i..<min(features.count, i + 1 + i % 3)].enumerated() {
                    var g = g
                    var p = g["properties"] as? [String: Any] ?? [:]
                    let id = "\(file.prefix(1))\(i)-\(k)"
                    p["site_id"] = id; p["enterprise_id"] = "E\(i)"; p["region"] = "R\(i % 3)"
                    g["properties"] = p
                    group.append(g)
                    siteIds.append(id)
                }
                _ = f
                try put(.geojson, "\(file.prefix(1))-\(i)",
                        Array(try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": group])))
            }
        }
        try put(.geojson, "point", Array(#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[121.47,31.23]},"properties":{"site_id":"P1","enterprise_id":"E1","radius_m":50}}]}"#.utf8))
        // Registry tables.
        try put(.agencies, "agencies", Array("agency_id,name,jurisdiction\nA1,Market,R0;R1\nA2,Environment,*\n".utf8))
        let vehicles = Set(fixes.map(\.vehicle)).sorted().enumerated().map { "\($1),A\($0 % 2 + 1),京A\($0)" }
        try put(.vehicles, "vehicles", Array(("vehicle_id,agency_id,plate\n" + vehicles.joined(separator: "\n") + "\n").utf8))
        var tasks = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
        let kinds = TaskKind.allCases.map(\.rawValue)
        for (i, site) in siteIds.prefix(30).enumerated() {
            tasks += "T\(i),A\(i % 2 + 1),\(i % 5 == 0 ? "A\(2 - i % 2)" : ""),E\(i),\(i % 3 == 0 ? site : ""),\(kinds[i % kinds.count]),"
                + (i % 2 == 0 ? "2026-03-0\(i % 9 + 1),2026-03-0\(i % 9 + 1)" : "2026-03-02T09:00:00+08:00,2026-03-02T17:00:00+08:00")
                + ",\(i % 4 == 0 ? "" : "2026-02-27T10:00:00+08:00"),\(i % 7 == 0 ? "true" : ""),\(i % 11 == 0 ? "cancelled" : "")\n"
        }
        try put(.tasks, "tasks", Array(tasks.utf8))
        // Scans: one covering the fuzz town's visit, one of another agency, one with every field.
        try put(.scan, "covering", Array(#"{"scan_id":"SC1","enterprise_id":"E1","agency_id":"A1","at":"2025-06-15T15:10:00Z"}"#.utf8))
        try put(.scan, "other", Array(#"{"scan_id":"SC2","enterprise_id":"E2","agency_id":"A2","task_id":null,"at":"2025-06-15T23:10:00+08:00"}"#.utf8))
        try put(.scan, "task", Array(#"{"scan_id":"SC3","enterprise_id":"E1","agency_id":"A1","task_id":"T1","at":"2025-06-15T15:10:00.250Z"}"#.utf8))
        // Vehicle ids as trackers send them: a terminal number, a plate, a phone's device name.
        try put(.vehicleId, "terminal", Array("013900000001".utf8))
        try put(.vehicleId, "plate", Array("浙B·00012".utf8))
        try put(.vehicleId, "device", Array("alice-phone".utf8))
        try put(.config, "example", Array(try Data(contentsOf: URL(fileURLWithPath: repo + "/Config/inspection-watch.yaml"))))
        try put(.config, "daemon", Array("""
            mqtt:
              subscriptions:
                - { filter: "jt808/+/+/up", format: jt808 }
            http:
              port: 0
              tokens: [{ name: a, role: agency, agency_id: A1, token: 0123456789abcdef }]
            rules: { repeat_window: 30d, annual_cap: 2 }
            """.utf8))
    }
}
