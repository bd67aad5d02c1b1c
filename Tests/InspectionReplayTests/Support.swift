import Foundation
import InspectionCore

/// Paths and temporary folders for tests that use real files.
enum TestFiles {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/data` beside the repository (where CI puts it), or `$INSPECTIONWATCH_DATA`.
    static var sharedData: URL {
        if let env = ProcessInfo.processInfo.environment["INSPECTIONWATCH_DATA"] { return URL(fileURLWithPath: env) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    static func data(_ relative: String) -> String { sharedData.appendingPathComponent(relative).path }

    static func temporaryFolder(_ name: String = "iw") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) {
        try! Data(text.utf8).write(to: url)
    }
}

/// A registry folder written for a test.
struct RegistryFolder {
    let url: URL
    var path: String { url.path }

    init(sites: Any, agencies: String = "agency_id,name,jurisdiction\nAMR,Market regulation,*\n",
         vehicles: String, tasks: String = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n") {
        url = TestFiles.temporaryFolder("registry")
        try! JSONSerialization.data(withJSONObject: sites).write(to: url.appendingPathComponent("sites.geojson"))
        TestFiles.write(agencies, to: url.appendingPathComponent("agencies.csv"))
        TestFiles.write(vehicles, to: url.appendingPathComponent("vehicles.csv"))
        TestFiles.write(tasks, to: url.appendingPathComponent("tasks.csv"))
    }

    /// OSM polygons as sites: each its own enterprise, duplicate OSM ids made unique.
    static func fromOSM(_ file: String, vehicles: [String]) -> RegistryFolder {
        let data = try! Data(contentsOf: URL(fileURLWithPath: TestFiles.data(file)))
        var fc = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var seen: [String: Int] = [:]
        var features: [[String: Any]] = []
        for case var f as [String: Any] in fc["features"] as! [Any] {
            var props = f["properties"] as! [String: Any]
            var id = props["site_id"] as! String
            if let n = seen[id] { seen[id] = n + 1; id += "#\(n + 1)" } else { seen[id] = 0 }
            props["site_id"] = id
            props["enterprise_id"] = "E-" + id
            f["properties"] = props
            features.append(f)
        }
        fc["features"] = features
        return RegistryFolder(sites: fc, vehicles: "vehicle_id,agency_id,plate\n" + vehicles.map { "\($0),AMR,\n" }.joined())
    }
}

/// Reads an NDJSON output file as JSON objects.
func readNDJSON(_ url: URL) -> [[String: Any]] {
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
}

func rfc3339(_ any: Any?) -> Millis? { (any as? String).flatMap(Timestamp.parseRFC3339) }
