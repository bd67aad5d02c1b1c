import InspectionCore

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

    public static let maxReportedLines = 20

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
        var engine = Engine(registry: registry, settings: settings)
        var summary = Summary()
        var positions: [Position] = []
        positions.reserveCapacity(inputs.reduce(0) { $0 + $1.bytes.count / 40 })
        for (name, bytes) in inputs {
            summary.files += 1
            var failure: TraceFileError?
            bytes.withUnsafeBufferPointer { buf in
                let format = TraceFormat.detect(path: name, firstBytes: UnsafeBufferPointer(rebasing: buf.prefix(64)))
                do throws(TraceFileError) {
                    try TraceParser.parse(buf, format: format,
                                          vehicle: { engine.vehicleNumber(bytes: $0) },
                                          emit: { positions.append($0) },
                                          skip: { err in
                                              summary.linesRead += 1
                                              engine.count(err.reason)
                                              if summary.skippedLines.count < maxReportedLines {
                                                  summary.skippedLines.append("\(name):\(err.line): \(err.reason.rawValue): \(err.message)")
                                              }
                                          })
                } catch { failure = error }
            }
            if let failure { throw .file(name, failure.message) }
        }
        summary.linesRead += positions.count
        summary.sortedInput = Self.orderByTime(&positions)

        var out = EngineOutput()
        var visits: [VisitRecord] = []
        var alerts: [AlertRecord] = []
        for p in positions {
            _ = engine.ingest(p, into: &out)
            if !out.isEmpty { collect(&out, &visits, &alerts) }
        }
        engine.finish(into: &out)
        collect(&out, &visits, &alerts)
        visits.sort { $0.start != $1.start ? $0.start < $1.start : byteOrder($0.visitId, $1.visitId) }
        alerts.sort { $0.at != $1.at ? $0.at < $1.at : byteOrder($0.alertId, $1.alertId) }
        summary.visits = visits
        summary.alerts = alerts
        summary.accepted = engine.accepted
        summary.rejected = engine.counts
        return summary
    }

    private static func collect(_ out: inout EngineOutput, _ visits: inout [VisitRecord], _ alerts: inout [AlertRecord]) {
        visits += out.closed
        alerts += out.alerts
        out.removeAll()
    }

    /// Puts positions in time order, ties in input order. Returns whether they already were.
    static func orderByTime(_ positions: inout [Position]) -> Bool {
        var sorted = true
        var prev = Millis.min
        for p in positions { if p.ts < prev { sorted = false; break }; prev = p.ts }
        if sorted { return true }
        var order = Array(0..<Int32(positions.count))
        positions.withUnsafeBufferPointer { ps in
            order.sort { a, b in
                let ta = ps[Int(a)].ts, tb = ps[Int(b)].ts
                return ta != tb ? ta < tb : a < b
            }
        }
        positions = order.map { positions[Int($0)] }
        return false
    }

    public static func ndjson(_ records: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 300)
        for r in records { r.write(to: &out); out.append(10) }
        return out
    }
}
