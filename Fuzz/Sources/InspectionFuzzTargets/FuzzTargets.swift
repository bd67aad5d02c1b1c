import Foundation
import InspectionConfig
import InspectionCore

/// What each parser is fuzzed through: bytes in, the parser, and whatever it produced fed on to the
/// next stage (a decoded position into the engine's checks and dwell machine, parsed sites into the
/// spatial index), so a crash anywhere downstream of bad input is found too. An error thrown is a
/// correct answer; only a trap is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case native, owntracks, jt808
    case traceCSV = "trace-csv", traceNDJSON = "trace-ndjson"
    case geojson, agencies, vehicles, tasks
    case config
    /// A code scan as JSON (MQTT, the API) into a scan judge with a visit it may cover; the same
    /// bytes as a scans CSV file.
    case scan
    /// Bytes as a vehicle id, on every path one arrives by: the topic (OwnTracks), a native
    /// payload's field, a JT/T 808 terminal number; taken ones into the engine, its checkpoint
    /// through JSON and back, and the forgetting of quiet unknown trackers.
    case vehicleId = "vehicle-id"

    /// The target named by `IW_FUZZ_TARGET` (libFuzzer gives the harness no arguments of its own).
    public static let selected: FuzzTarget = {
        let name = getenv("IW_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            fatalError("IW_FUZZ_TARGET must be one of " + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return t
    }()

    /// A small town the payload targets feed their positions into.
    static let registry: Registry = {
        let sites: [(Site, SiteGeometry)] = [
            (Site(id: "S1", enterpriseId: "E1", region: "R1"), SiteGeometry(center: LatLon(lat: 31.23, lon: 121.47), radiusM: 60)),
            (Site(id: "S2", enterpriseId: "E2", region: "R2"),
             SiteGeometry(polygons: [[[LatLon(lat: 31.24, lon: 121.48), LatLon(lat: 31.24, lon: 121.49), LatLon(lat: 31.25, lon: 121.49)]]])!),
        ]
        return Registry(sites: sites, agencies: [Agency(id: "A1", name: "A1", jurisdiction: .regions(["R1"]))],
                        vehicles: [Vehicle(id: "V1", agencyId: "A1")], tasks: [], margin: 30)
    }()

    public func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch self {
        case .native, .owntracks, .jt808:
            let format = PayloadFormat(rawValue: rawValue)!
            guard case .success(let message) = PayloadDecoder.decode(format, payload: bytes, topicVehicle: Array("V1".utf8)) else { return }
            var engine = Engine(registry: Self.registry, settings: EngineSettings())
            var out = EngineOutput()
            // Every position of the message (a JT/T 808 batch has several), each the same fix
            // twice and later: the duplicate check and the dwell machine; then the first again, late.
            for case .success(let p) in message.items {
                let v = p.vehicle.withUnsafeBufferPointer { engine.vehicleNumber(bytes: $0) }
                for dt: Millis in [0, 0, 60_000, 400_000, 30_000] {
                    _ = engine.ingest(Position(vehicle: v, ts: p.ts &+ dt, lat: p.lat, lon: p.lon, speedKmh: p.speedKmh,
                                               heading: p.heading, accuracyM: p.accuracyM), into: &out)
                }
            }
            engine.finish(into: &out)
        case .traceCSV, .traceNDJSON:
            var batch = TraceBatch()
            try? TraceParser.parse(bytes, format: self == .traceCSV ? .csv : .ndjson, into: &batch)
        case .geojson:
            var warnings: [String] = []
            guard let sites = try? RegistryParser().parseSites(Array(bytes), warnings: &warnings) else { return }
            let registry = Registry(sites: sites, agencies: [], vehicles: [], tasks: [], margin: 30)
            for s in registry.sites.indices.prefix(50) {
                let box = registry.index.box(Int32(s))
                _ = registry.index.sites(within: 30, lat: box.minLat, lon: box.minLon)
                _ = registry.index.bestSite(lat: (box.minLat + box.maxLat) / 2, lon: (box.minLon + box.maxLon) / 2)
            }
        case .agencies:
            _ = try? RegistryParser().parseAgencies(Array(bytes))
        case .vehicles:
            _ = try? RegistryParser().parseVehicles(Array(bytes), agencies: ["A1", "A2"])
        case .tasks:
            _ = try? RegistryParser().parseTasks(Array(bytes), agencies: ["A1", "A2"])
        case .config:
            _ = try? Configuration.parse(String(decoding: bytes, as: UTF8.self))
        case .scan:
            let visit = VisitRecord(visitId: "v1", vehicleId: "V1", agencyId: "A1", siteId: "S1", enterpriseId: "E1",
                                    start: 1_750_000_000_000, end: 1_750_000_600_000, points: 40, taskId: nil, occasionId: "o1",
                                    openedAt: 1_750_000_300_000)
            var judge = ScanJudge()
            judge.visit(visit)
            let settings = EngineSettings()
            _ = judge.judge(now: 1_750_100_000_000, registry: Self.registry, settings: settings)
            if let scan = try? ScanFields.scan(json: bytes) {
                judge.add(scan, registry: Self.registry, settings: settings)
                _ = judge.judge(now: scan.at == .min ? 0 : scan.at, registry: Self.registry, settings: settings)
            }
            _ = try? ScanFields.parseCSV(Array(bytes), file: "scans.csv")
        case .vehicleId:
            var engine = Engine(registry: Self.registry, settings: EngineSettings(), lateHorizon: true)
            var out = EngineOutput()
            let fix = Array(#"{"_type":"location","tst":1750000000,"lat":31.23,"lon":121.47}"#.utf8)
            var escaped = ""
            for u in String(decoding: bytes, as: UTF8.self).unicodeScalars {
                escaped += u.value < 0x20 || u == "\"" || u == "\\" ? String(format: "\\u%04x", u.value) : String(u)
            }
            let native = Array(#"{"vehicle_id":"\#(escaped)","ts":"2025-06-15T15:00:00Z","lat":31.23,"lon":121.47}"#.utf8)
            let decoded = [fix.withUnsafeBufferPointer { PayloadDecoder.decode(.owntracks, payload: $0, topicVehicle: Array(bytes)) },
                           native.withUnsafeBufferPointer { PayloadDecoder.decode(.native, payload: $0, topicVehicle: []) }]
            var ts: Millis = 1_750_000_000_000
            for case .success(let message) in decoded {
                for case .success(let p) in message.items {
                    precondition(VehicleIdCheck.problem(p.vehicle) == nil, "a vehicle id the check refuses was taken")
                    let v = p.vehicle.withUnsafeBufferPointer { engine.vehicleNumber(bytes: $0) }
                    ts += 60_000
                    _ = engine.ingest(Position(vehicle: v, ts: ts, lat: p.lat, lon: p.lon), into: &out)
                }
            }
            if let state = try? JSONEncoder().encode(engine.checkpoint()), let c = try? JSONDecoder().decode(EngineCheckpoint.self, from: state) {
                var restored = Engine(registry: Self.registry, settings: EngineSettings(), restoring: c, lateHorizon: true, into: &out)
                precondition(restored.checkpoint().vehicles == engine.checkpoint().vehicles, "a vehicle id changed through the checkpoint")
                restored.forgetQuietUnknownTrackers(quietBefore: .max)
                precondition(restored.trackers.unknown <= restored.checkpoint().openStays, "a quiet unknown tracker in no stay was kept")
            }
        }
    }
}
