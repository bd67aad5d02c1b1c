/// A trace file (SPEC §3.2): CSV with a header, or NDJSON lines in the `native` format.
public enum TraceFormat: String, Sendable {
    case csv, ndjson

    /// By extension, else by the first non-blank byte.
    public static func detect(path: String, firstBytes: UnsafeBufferPointer<UInt8>) -> TraceFormat {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") { return .ndjson }
        for c in firstBytes where c != 32 && c != 9 && c != 10 && c != 13 && c != 0xEF && c != 0xBB && c != 0xBF {
            return c == 123 ? .ndjson : .csv
        }
        return .csv
    }
}

/// A line of a trace file that was skipped.
public struct TraceLineError: Sendable, Equatable {
    public var line: Int
    public var reason: RejectReason
    public var message: String
}

/// A trace file that cannot be read at all (its header lacks a required column).
public struct TraceFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// What trace files parse into: positions with their vehicles as numbers, and what was skipped.
public struct TraceBatch: Sendable {
    public var positions: [Position] = []
    /// The numbers of `Position.vehicle`.
    public var vehicles = ByteInterner(capacity: 4096)
    /// Skipped lines by reason.
    public var skipped = RejectCounts()
    /// The first skipped lines, with the file they came from.
    public var firstSkipped: [(file: String, error: TraceLineError)] = []
    public static let keptErrors = 20

    public init() {}

    /// Lines read: good and skipped.
    public var linesRead: Int { positions.count + skipped.total }

    mutating func skip(_ e: TraceLineError, file: String) {
        skipped.add(e.reason)
        if firstSkipped.count < Self.keptErrors { firstSkipped.append((file, e)) }
    }
}

public enum TraceParser {
    /// Parses a whole trace into `batch`; malformed lines are counted and skipped, the parse goes on.
    public static func parse(_ b: UnsafeBufferPointer<UInt8>, format: TraceFormat, file: String = "",
                             into batch: inout TraceBatch) throws(TraceFileError) {
        switch format {
        case .csv: try parseCSV(b, file: file, into: &batch)
        case .ndjson: parseNDJSON(b, file: file, into: &batch)
        }
    }

    public static func parseCSV(_ b: UnsafeBufferPointer<UInt8>, file: String = "",
                                into batch: inout TraceBatch) throws(TraceFileError) {
        var reader = CSVReader(b)
        var fields: [CSVField] = []
        fields.reserveCapacity(16)
        guard reader.next(into: &fields) else { return }
        let header = fields.map { reader.text(of: $0).lowercased() }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let cV = column("vehicle_id"), let cT = column("ts"), let cLat = column("lat"), let cLon = column("lon") else {
            let missing = ["vehicle_id", "ts", "lat", "lon"].filter { column($0) == nil }
            throw TraceFileError(message: "header lacks column" + (missing.count > 1 ? "s " : " ")
                + missing.joined(separator: ", ") + " (found: " + header.joined(separator: ",") + ")")
        }
        let cS = column("speed_kmh") ?? -1, cH = column("heading") ?? -1, cA = column("accuracy_m") ?? -1
        let need = max(cV, cT, cLat, cLon)
        @inline(__always) func optional(_ c: Int) -> Float {
            guard c >= 0, c < fields.count, !fields[c].isEmpty,
                  let d = NumberParsing.double(b, fields[c].start, fields[c].end) else { return .nan }
            return Float(d)
        }
        while reader.next(into: &fields) {
            guard fields.count > need else {
                if fields.count == 1 && fields[0].isEmpty { continue }
                batch.skip(TraceLineError(line: reader.line, reason: .missingField,
                                          message: "\(fields.count) fields, at least \(need + 1) needed"), file: file)
                continue
            }
            let (vs, ve) = NumberParsing.trimmed(b, fields[cV].start, fields[cV].end)
            guard ve > vs else {
                batch.skip(TraceLineError(line: reader.line, reason: .missingField, message: "vehicle_id is empty"), file: file)
                continue
            }
            guard let ts = NumberParsing.timestamp(b, fields[cT].start, fields[cT].end) else {
                batch.skip(TraceLineError(line: reader.line, reason: fields[cT].isEmpty ? .missingField : .wrongType,
                                          message: "ts is neither Unix seconds nor RFC 3339"), file: file)
                continue
            }
            guard let lat = NumberParsing.double(b, fields[cLat].start, fields[cLat].end),
                  let lon = NumberParsing.double(b, fields[cLon].start, fields[cLon].end) else {
                let empty = fields[cLat].isEmpty || fields[cLon].isEmpty
                batch.skip(TraceLineError(line: reader.line, reason: empty ? .missingField : .wrongType,
                                          message: "lat/lon must be decimal numbers"), file: file)
                continue
            }
            let id = UnsafeBufferPointer(rebasing: b[vs..<ve])
            if let problem = VehicleIdCheck.problem(id) {
                batch.skip(TraceLineError(line: reader.line, reason: .badVehicleId, message: problem), file: file)
                continue
            }
            let v = batch.vehicles.intern(id)
            batch.positions.append(Position(vehicle: v, ts: ts, lat: lat, lon: lon,
                                            speedKmh: optional(cS), heading: optional(cH), accuracyM: optional(cA)))
        }
    }

    public static func parseNDJSON(_ b: UnsafeBufferPointer<UInt8>, file: String = "", into batch: inout TraceBatch) {
        var p = 0, line = 0
        let n = b.count
        while p < n {
            line += 1
            var e = p
            while e < n && b[e] != 10 { e += 1 }
            let s = p
            p = e + 1
            var blank = true
            for i in s..<e where b[i] != 32 && b[i] != 9 && b[i] != 13 { blank = false; break }
            if blank { continue }
            switch NativePayload.parse(b, start: s, end: e) {
            case .failure(let err):
                batch.skip(TraceLineError(line: line, reason: err.reason, message: err.message), file: file)
            case .success(let np):
                guard !np.vehicle.isEmpty else {
                    batch.skip(TraceLineError(line: line, reason: .missingField, message: "vehicle is missing"), file: file)
                    continue
                }
                if let problem = VehicleIdCheck.problem(np.vehicle) {
                    batch.skip(TraceLineError(line: line, reason: .badVehicleId, message: problem), file: file)
                    continue
                }
                let v = np.vehicle.withUnsafeBufferPointer { batch.vehicles.intern($0) }
                batch.positions.append(Position(vehicle: v, ts: np.ts, lat: np.lat, lon: np.lon,
                                                speedKmh: np.speedKmh, heading: np.heading, accuracyM: np.accuracyM))
            }
        }
    }
}
