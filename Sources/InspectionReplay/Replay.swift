import InspectionCore
import InspectionFiles

/// `inspection-watch replay`: trace files through the engine, NDJSON out (SPEC §5 "Offline").
public struct Replay {
    public var registryDir: String
    public var positionFiles: [String]
    public var outDir: String
    public var coordinates: CoordinateSystem
    public var settings: EngineSettings

    public init(registryDir: String, positionFiles: [String], outDir: String,
                coordinates: CoordinateSystem = .wgs84, settings: EngineSettings = EngineSettings()) {
        self.registryDir = registryDir; self.positionFiles = positionFiles; self.outDir = outDir
        self.coordinates = coordinates; self.settings = settings
    }

    /// What stops a replay (exit 2): the registry, or a file that cannot be read at all.
    public enum Failure: Error, CustomStringConvertible {
        case registry(RegistryError)
        case file(String, String)

        public var description: String {
            switch self {
            case .registry(let e): return "registry: \(e)"
            case .file(let path, let why): return "\(path): \(why)"
            }
        }
    }

    public struct Summary: Sendable {
        public var files = 0
        public var linesRead = 0
        public var accepted = 0
        public var rejected = RejectCounts()
        public var visits: [VisitRecord] = []
        public var alerts: [AlertRecord] = []
        /// The first skipped lines, `file:line: reason: message`.
        public var skippedLines: [String] = []
        public var registryWarnings: [String] = []
        public var sortedInput = true

        public var alertsByKind: [(AlertKind, Int)] {
            AlertKind.allCases.map { k in (k, alerts.lazy.filter { $0.kind == k }.count) }
        }
    }


    /// Runs the replay and writes `visits.ndjson` and `alerts.ndjson`.
    public func run() throws(Failure) -> Summary {
        let registry: Registry
        do {
            registry = try RegistryDirectory.load(
                registryDir, parser: RegistryParser(coordinates: coordinates, calendar: settings.calendar, margin: settings.siteMarginM))
        } catch { throw .registry(error) }
        var inputs: [(String, [UInt8])] = []
        for path in positionFiles {
            do { inputs.append((path, try FileBytes.read(path))) } catch { throw .file(path, "cannot read: \(error.reason)") }
        }
        var summary = try Self.process(registry: registry, settings: settings, inputs: inputs)
        summary.registryWarnings = registry.warnings
        do {
            try FileBytes.makeDirectory(outDir)
            try FileBytes.write(Self.ndjson(summary.visits.map(\.json)), to: outDir + "/visits.ndjson")
            try FileBytes.write(Self.ndjson(summary.alerts.map(\.json)), to: outDir + "/alerts.ndjson")
        } catch { throw .file(error.path, error.reason) }
        return summary
    }

    /// The engine over in-memory trace files: parse, order by time, feed, finish, sort the records.
    public static func process(registry: Registry, settings: EngineSettings,
                               inputs: [(name: String, bytes: [UInt8])]) throws(Failure) -> Summary {
        var batch = TraceBatch()
        // Room for every position the files can hold (a CSV line takes 24 bytes at least): the
        // array is never grown and copied. Pages not used are never touched, so cost nothing.
        batch.positions.reserveCapacity(inputs.reduce(0) { $0 + $1.bytes.count } / 24 + 16)
        var summary = Summary()
        for (name, bytes) in inputs {
            summary.files += 1
            var failure: TraceFileError?
            bytes.withUnsafeBufferPointer { buf in
                let format = TraceFormat.detect(path: name, firstBytes: UnsafeBufferPointer(rebasing: buf.prefix(64)))
                do throws(TraceFileError) {
                    try TraceParser.parse(buf, format: format, file: name, into: &batch)
                } catch { failure = error }
            }
            if let failure { throw .file(name, failure.message) }
        }
        summary.linesRead = batch.linesRead
        summary.skippedLines = batch.firstSkipped.map { "\($0.file):\($0.error.line): \($0.error.reason.rawValue): \($0.error.message)" }
        var engine = Engine(registry: registry, settings: settings, vehicles: batch.vehicles)
        for (reason, n) in batch.skipped.nonZero { engine.count(reason, n) }
        let result = engine.run(batch.positions)
        summary.sortedInput = result.wasSorted
        summary.visits = result.visits
        summary.alerts = result.alerts
        summary.accepted = engine.accepted
        summary.rejected = engine.counts
        return summary
    }

    public static func ndjson(_ records: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 300)
        for r in records { r.write(to: &out); out.append(10) }
        return out
    }
}
