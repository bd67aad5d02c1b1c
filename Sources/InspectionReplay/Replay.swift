import InspectionCore
import InspectionFiles

/// `inspection-watch replay`: trace files through the engine, NDJSON out (SPEC §5 "Offline").
public struct Replay {
    public var registryDir: String
    public var positionFiles: [String]
    public var outDir: String
    public var coordinates: CoordinateSystem
    /// `registry.bounds`: where every site must lie.
    public var bounds: GeoBox?
    public var settings: EngineSettings
    /// Code scan files (SPEC §3.5): given (even empty), every occasion is judged at the end of the
    /// input (`unscanned_visit`); nil, none is.
    public var scanFiles: [String]?

    public init(registryDir: String, positionFiles: [String], outDir: String,
                coordinates: CoordinateSystem = .wgs84, settings: EngineSettings = EngineSettings(), scanFiles: [String]? = nil) {
        self.registryDir = registryDir; self.positionFiles = positionFiles; self.outDir = outDir
        self.coordinates = coordinates; self.settings = settings; self.scanFiles = scanFiles
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
        /// With scan files: what they held and what became of it.
        public var scans: ScanSummary?

        public var alertsByKind: [(AlertKind, Int)] {
            AlertKind.allCases.map { k in (k, alerts.lazy.filter { $0.kind == k }.count) }
        }
    }


    /// Runs the replay and writes `visits.ndjson` and `alerts.ndjson`.
    public func run() throws(Failure) -> Summary {
        let registry: Registry
        do {
            registry = try RegistryDirectory.load(
                registryDir, parser: RegistryParser(coordinates: coordinates, calendar: settings.calendar, margin: settings.siteMarginM, bounds: bounds))
        } catch { throw .registry(error) }
        var inputs: [(String, [UInt8])] = []
        for path in positionFiles {
            do { inputs.append((path, try FileBytes.read(path))) } catch { throw .file(path, "cannot read: \(error.reason)") }
        }
        var summary = try Self.process(registry: registry, settings: settings, inputs: inputs)
        summary.registryWarnings = registry.warnings
        if let scanFiles {
            var scanInputs: [(String, [UInt8])] = []
            for path in scanFiles {
                do { scanInputs.append((path, try FileBytes.read(path))) } catch { throw .file(path, "cannot read: \(error.reason)") }
            }
            try Self.judgeScans(&summary, registry: registry, settings: settings, inputs: scanInputs)
        }
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

    /// What the scan files held and what became of it.
    public struct ScanSummary: Sendable, Equatable {
        public var read = 0
        public var stored = 0
        public var duplicates = 0
        public var conflicts = 0
        /// Lines that did not validate, `file:line: field: message` (skipped).
        public var skipped: [String] = []
        /// Scans of an enterprise or agency the registry does not know (kept; they match nothing).
        public var unknownEnterprise = 0
        public var unknownAgency = 0
        /// Occasions judged, and covered by a scan.
        public var occasions = 0
        public var covered = 0
        /// Scans that cover no occasion, per agency.
        public var withoutVisit: [String: Int] = [:]
    }

    /// Judges every occasion against the scans (SPEC §3.5, replay: the end of the input judges
    /// all): the `unscanned_visit` alerts join the others, in output order.
    public static func judgeScans(_ summary: inout Summary, registry: Registry, settings: EngineSettings,
                                  inputs: [(name: String, bytes: [UInt8])]) throws(Failure) {
        var s = ScanSummary()
        var book = ScanBook()
        for (name, bytes) in inputs {
            let parsed: (scans: [Scan], errors: [String])
            do { parsed = try ScanFields.parseCSV(bytes, file: name) } catch { throw .file(name, error.description) }
            s.read += parsed.scans.count + parsed.errors.count
            s.skipped += parsed.errors
            for scan in parsed.scans { book.add(scan) }
        }
        s.stored = book.count
        s.duplicates = book.duplicates
        s.conflicts = book.conflicts
        let enterprises = Set(registry.sites.map(\.enterpriseId))
        for scan in book.all {
            if !enterprises.contains(scan.enterpriseId) { s.unknownEnterprise += 1 }
            if registry.agencies[scan.agencyId] == nil { s.unknownAgency += 1 }
        }
        let spans = ScanRule.spans(summary.visits, registry: registry)
        s.occasions = spans.count
        var alerts: [AlertRecord] = []
        for o in spans {
            let raised = ScanRule.judge(o, book: book, settings: settings)
            if raised.isEmpty { s.covered += 1 }
            alerts += raised
        }
        for scan in ScanRule.withoutVisit(book, spans: spans, slack: settings.scanSlack) { s.withoutVisit[scan.agencyId, default: 0] += 1 }
        summary.alerts += alerts
        var none: [VisitRecord] = []
        Engine.sortForOutput(&none, &summary.alerts)
        summary.scans = s
    }

    public static func ndjson(_ records: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 300)
        for r in records { r.write(to: &out); out.append(10) }
        return out
    }
}
