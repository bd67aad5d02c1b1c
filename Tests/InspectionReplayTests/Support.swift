import Foundation
import InspectionCore
import InspectionTestSupport

/// Paths and temporary folders for tests that use real files.
enum TestFiles {
    static let repoRoot = SharedData.repoRoot

    static func data(_ relative: String) -> String { SharedData.path(relative) }

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
        try! SharedData.writeRegistry(to: url, sites: sites, agencies: agencies, vehicles: vehicles, tasks: tasks)
    }

    /// OSM polygons as sites: each its own enterprise, duplicate OSM ids made unique.
    static func fromOSM(_ file: String, vehicles: [String]) -> RegistryFolder {
        RegistryFolder(sites: try! SharedData.osmSites(file),
                       vehicles: "vehicle_id,agency_id,plate\n" + vehicles.map { "\($0),AMR,\n" }.joined())
    }
}

/// Reads an NDJSON output file as JSON objects.
func readNDJSON(_ url: URL) -> [[String: Any]] {
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
}

func rfc3339(_ any: Any?) -> Millis? { (any as? String).flatMap(Timestamp.parseRFC3339) }
