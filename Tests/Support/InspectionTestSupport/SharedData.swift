import Foundation

/// The repository and the real data beside it (`../shared/data`, where CI puts it, or
/// `$INSPECTIONWATCH_DATA`).
public enum SharedData {
    public static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var folder: URL {
        if let env = ProcessInfo.processInfo.environment["INSPECTIONWATCH_DATA"] { return URL(fileURLWithPath: env) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    public static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    /// OpenStreetMap polygons as registry sites: each its own enterprise (`E-<site_id>`), OSM ids
    /// that repeat made unique (`way_1#1`), as SPEC §2 requires of `site_id`.
    public static func osmSites(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        var fc = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var seen: [String: Int] = [:]
        fc["features"] = (fc["features"] as! [[String: Any]]).map { f in
            var f = f
            var p = f["properties"] as! [String: Any]
            var id = p["site_id"] as! String
            if let n = seen[id] { seen[id] = n + 1; id += "#\(n + 1)" } else { seen[id] = 0 }
            p["site_id"] = id
            p["enterprise_id"] = "E-" + id
            f["properties"] = p
            return f
        }
        return fc
    }

    /// Writes a registry folder: the sites, and the three CSV files as given.
    public static func writeRegistry(to dir: URL, sites: Any, agencies: String, vehicles: String,
                                     tasks: String = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n") throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: sites).write(to: dir.appendingPathComponent("sites.geojson"))
        try Data(agencies.utf8).write(to: dir.appendingPathComponent("agencies.csv"))
        try Data(vehicles.utf8).write(to: dir.appendingPathComponent("vehicles.csv"))
        try Data(tasks.utf8).write(to: dir.appendingPathComponent("tasks.csv"))
    }
}
