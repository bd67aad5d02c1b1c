import InspectionCore
import InspectionFiles
import InspectionReplay

/// A scenario on disk: `registry/` (SPEC §2), `traces/day-NN.csv` (SPEC §3.2), and `truth/` —
/// `visits.ndjson` and `alerts.ndjson` in replay's own form (SPEC §5), `planted.ndjson` with what
/// each planted behaviour must produce.
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
        return writer.counts
    }
}
