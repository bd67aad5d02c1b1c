import InspectionCore
import InspectionFiles
import InspectionReplay

/// A scenario on disk: `registry/` (SPEC §2), `traces/day-NN.csv` (SPEC §3.2), and `truth/` —
/// `visits.ndjson` and `alerts.ndjson` in replay's own form (SPEC §5), `planted.ndjson` with what
/// each planted behaviour must produce; with scans, `scans.csv` (SPEC §3.5) beside them.
public enum ScenarioFiles {
    public static func write(_ s: Scenario, noise: Noise, seed: UInt64, to dir: String) throws(FileBytes.Failure) -> NoiseCounts {
        for sub in ["", "/registry", "/traces", "/truth"] { try FileBytes.makeDirectory(dir + sub) }
        try FileBytes.write(s.sitesGeoJSON, to: dir + "/registry/sites.geojson")
        try FileBytes.write(Array(s.agenciesCSV.utf8), to: dir + "/registry/agencies.csv")
        try FileBytes.write(Array(s.vehiclesCSV.utf8), to: dir + "/registry/vehicles.csv")
        try FileBytes.write(Array(s.tasksCSV.utf8), to: dir + "/registry/tasks.csv")
        var writer = TraceWriter(noise: noise, seed: seed)
        for (name, bytes) in writer.files(s) { try FileBytes.write(bytes, to: dir + "/traces/" + name) }
        try FileBytes.write(Replay.ndjson(s.visits.map(\.json)), to: dir + "/truth/visits.ndjson")
        try FileBytes.write(Replay.ndjson(s.alerts.map(\.json)), to: dir + "/truth/alerts.ndjson")
        try FileBytes.write(Replay.ndjson(s.planted.map(\.json)), to: dir + "/truth/planted.ndjson")
        if let scans = s.scans { try FileBytes.write(Array(csv(scans).utf8), to: dir + "/scans.csv") }
        return writer.counts
    }

    /// Scans as `scans.csv` has them: `scan_id,enterprise_id,agency_id,task_id,at` (RFC 3339, UTC).
    public static func csv(_ scans: [Scan]) -> String {
        var out = ScanFields.columns.joined(separator: ",") + "\n"
        for s in scans { out += "\(s.scanId),\(s.enterpriseId),\(s.agencyId),\(s.taskId ?? ""),\(Timestamp.formatUTC(s.at))\n" }
        return out
    }
}
