import Foundation
import Hummingbird
import InspectionCore
import InspectionStore

/// The API's JSON: records as the engine writes them (SPEC §4.4, §5), plus where each stands.
enum APIValues {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        var out: [UInt8] = []
        value.write(to: &out)
        out.append(10)
        return Response(status: status, headers: [.contentType: contentType + "; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    static func response(_ e: APIError) -> Response {
        var r = response(.object([("error", .object([("status", .int(Int64(e.status.code))), ("message", .string(e.message)),
                                                  ("field", .optional(e.field))]))]), status: e.status)
        // RFC 6750: say which scheme a 401 wants.
        if e.status == .unauthorized { r.headers[.wwwAuthenticate] = #"Bearer realm="inspection-watch""# }
        return r
    }

    static func alert(_ a: StoredAlert) -> JSONValue { alert(a.record, status: a.status) }

    /// An alert with the names of its codes (kind, status, agency, site, vehicle) for the page.
    static func alert(_ a: StoredAlert, names: Names) -> JSONValue {
        guard case .object(var kv) = alert(a) else { return .null }
        kv += names.json(kind: a.record.kind, status: a.status, agencyId: a.record.agencyId, siteId: a.record.siteId, vehicleId: a.record.vehicleId)
        return .object(kv)
    }

    static func visit(_ v: VisitRecord, names: Names) -> JSONValue {
        guard case .object(var kv) = v.json else { return .null }
        kv += names.json(agencyId: v.agencyId, siteId: v.siteId, vehicleId: v.vehicleId)
        return .object(kv)
    }

    static func alert(_ a: AlertRecord, status: AlertStatus) -> JSONValue {
        guard case .object(var kv) = a.json else { return .null }
        kv.append(("status", .string(status.rawValue)))
        return .object(kv)
    }

    static func change(_ c: StatusChange) -> JSONValue {
        .object([("alert_id", .string(c.alertId)), ("at", .time(c.at)), ("status", .string(c.status.rawValue)),
                 ("actor", .string(c.actor)), ("note", .optional(c.note))])
    }

    static func track(_ fixes: [Fix]) -> JSONValue {
        .array(fixes.map { .object([("ts", .time($0.ts)), ("lat", .double($0.lat)), ("lon", .double($0.lon))]) })
    }

    static func scan(_ s: StoredScan) -> JSONValue {
        guard case .object(var kv) = s.scan.json else { return s.scan.json }
        kv += [("source", .string(s.source)), ("received_at", .time(s.receivedAt))]
        return .object(kv)
    }

    static func task(_ s: StoredTask) -> JSONValue {
        let t = s.task
        return .object([
            ("task_id", .string(t.id)), ("agency_id", .string(t.agencyId)),
            ("partner_agency_ids", .array(t.partnerAgencyIds.map(JSONValue.string))),
            ("enterprise_id", .string(t.enterpriseId)), ("site_id", .optional(t.siteId)), ("kind", .string(t.kind.rawValue)),
            ("start", .time(t.start)), ("end", .time(t.end)), ("announced_at", t.announcedAt.map(JSONValue.time) ?? .null),
            ("cross_region", .bool(t.crossRegion)), ("status", .string(t.status.rawValue)),
            ("source", .string(s.source)), ("updated_at", .time(s.updatedAt)), ("updated_by", .string(s.updatedBy)),
        ])
    }

    static func rematch(_ r: RematchOutcome) -> JSONValue {
        .object([("visits_changed", .int(Int64(r.visitsChanged))),
                 ("alerts_raised", .array(r.raised.map { .string($0.alertId) })),
                 ("alerts_withdrawn", .array(r.withdrawn.map { .string($0.change.alertId) })),
                 ("alerts_reopened", .array(r.reopened.map { .string($0.change.alertId) }))])
    }

    static func site(_ site: Site, _ g: SiteGeometry) -> JSONValue {
        var outline: [(String, JSONValue)] = [
            ("rings", .array(g.rings.map { ring in .array(ring.map { .array([.double($0.lat), .double($0.lon)]) }) })),
        ]
        if let c = g.circle {
            outline.append(("circle", .object([("lat", .double(c.center.lat)), ("lon", .double(c.center.lon)), ("radius_m", .double(c.radiusM))])))
        }
        return .object([("site_id", .string(site.id)), ("enterprise_id", .string(site.enterpriseId)), ("name", .optional(site.name)),
                        ("region", .optional(site.region)), ("outline", .object(outline))])
    }

    /// A site as a GeoJSON Feature (`[lon, lat]`): its outline, or a Point with `radius_m`.
    static func siteFeature(_ site: Site, _ g: SiteGeometry, enterpriseClass: String?) -> JSONValue {
        func ring(_ r: [LatLon]) -> JSONValue { .array(r.map { .array([.double($0.lon), .double($0.lat)]) }) }
        let geometry: JSONValue
        var props: [(String, JSONValue)] = [("site_id", .string(site.id)), ("enterprise_id", .string(site.enterpriseId)),
                                            ("name", .optional(site.name)), ("region", .optional(site.region)),
                                            ("risk_class", .optional(site.riskClass)), ("enterprise_class", .optional(enterpriseClass))]
        if let c = g.circle {
            geometry = .object([("type", .string("Point")), ("coordinates", .array([.double(c.center.lon), .double(c.center.lat)]))])
            props.append(("radius_m", .double(c.radiusM)))
        } else {
            // Each ring closed, as RFC 7946 wants.
            let rings = g.rings.map { r in r.first.map { r.last == $0 ? r : r + [$0] } ?? r }
            geometry = .object([("type", .string("MultiPolygon")), ("coordinates", .array(Self.polygons(rings).map { .array($0.map(ring)) }))])
        }
        return .object([("type", .string("Feature")), ("id", .string(site.id)), ("geometry", geometry), ("properties", .object(props))])
    }

    /// Rings grouped into polygons as the engine reads them (even-odd over all rings): a ring
    /// inside an odd number of the others is a hole of the smallest one around it.
    static func polygons(_ rings: [[LatLon]]) -> [[[LatLon]]] {
        func inside(_ p: LatLon, _ r: [LatLon]) -> Bool {
            var c = false
            var j = r.count - 1
            for i in r.indices {
                if (r[i].lat > p.lat) != (r[j].lat > p.lat),
                   p.lon < (r[j].lon - r[i].lon) * (p.lat - r[i].lat) / (r[j].lat - r[i].lat) + r[i].lon { c.toggle() }
                j = i
            }
            return c
        }
        func area(_ r: [LatLon]) -> Double {
            var a = 0.0
            for i in r.indices { let j = (i + 1) % r.count; a += r[i].lon * r[j].lat - r[j].lon * r[i].lat }
            return abs(a)
        }
        var around: [[Int]] = rings.map { _ in [] }
        for (i, r) in rings.enumerated() {
            guard let p = r.first else { continue }
            for (k, o) in rings.enumerated() where k != i && inside(p, o) { around[i].append(k) }
        }
        var shells: [Int: [[LatLon]]] = [:]
        var order: [Int] = []
        for i in rings.indices where around[i].count % 2 == 0 { shells[i] = [rings[i]]; order.append(i) }
        for i in rings.indices where around[i].count % 2 == 1 {
            guard let shell = around[i].filter({ shells[$0] != nil }).min(by: { area(rings[$0]) < area(rings[$1]) }) else { continue }
            shells[shell]!.append(rings[i])
        }
        return order.map { shells[$0]! }
    }

    static func agency(_ a: Agency, vehicles: Int) -> JSONValue {
        let jurisdiction: JSONValue
        switch a.jurisdiction {
        case .everywhere: jurisdiction = .string("*")
        case .regions(let r): jurisdiction = .array(r.sorted().map { .string($0) })
        }
        return .object([("agency_id", .string(a.id)), ("name", .string(a.name)), ("jurisdiction", jurisdiction), ("vehicles", .int(Int64(vehicles)))])
    }

    static func statistics(_ rows: [AgencyStatistics], classes: [ClassStatistics], from: Millis, to: Millis) -> JSONValue {
        func share(_ v: Double?) -> JSONValue { v.map { .double(($0 * 10_000).rounded() / 10_000) } ?? .null }
        func met(_ v: Double?, _ target: Double) -> JSONValue { v.map { .bool($0 >= target) } ?? .null }
        func alerts(_ a: [AlertKind: Int]) -> JSONValue { .object(AlertKind.allCases.map { ($0.rawValue, .int(Int64(a[$0] ?? 0))) }) }
        return .object([
            ("from", .time(from)), ("to", .time(to)),
            ("targets", .object([("planned_share", .double(AgencyStatistics.plannedTarget)), ("joint_share", .double(AgencyStatistics.jointTarget)),
                                 ("scanned_share", .double(AgencyStatistics.scannedTarget))])),
            ("rows", .array(rows.map { r in
                .object([
                    ("agency_id", .optional(r.agencyId)), ("visits", .int(Int64(r.visits))), ("occasions", .int(Int64(r.occasions))),
                    ("covered_occasions", .int(Int64(r.coveredOccasions))), ("joint_occasions", .int(Int64(r.jointOccasions))),
                    ("scanned_occasions", .int(Int64(r.scannedOccasions))),
                    ("planned_share", share(r.plannedShare)), ("planned_target_met", met(r.plannedShare, AgencyStatistics.plannedTarget)),
                    ("joint_share", share(r.jointShare)), ("joint_target_met", met(r.jointShare, AgencyStatistics.jointTarget)),
                    ("scanned_share", share(r.scannedShare)), ("scanned_target_met", met(r.scannedShare, AgencyStatistics.scannedTarget)),
                    ("scans_without_visit", .int(Int64(r.scansWithoutVisit))),
                    ("alerts", alerts(r.alerts)),
                ])
            })),
            ("by_risk_class", .array(classes.map { c in
                .object([("risk_class", .optional(c.riskClass)), ("occasions", .int(Int64(c.occasions))), ("alerts", alerts(c.alerts))])
            })),
        ])
    }
}

/// Query parameters, read with errors that name the parameter.
struct Query {
    let params: [String: String]

    init(_ request: Request) {
        var p: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { p[String(k)] = String(v) }  // values come percent-decoded
        params = p
    }

    func string(_ k: String) -> String? { params[k].flatMap { $0.isEmpty ? nil : $0 } }

    func int(_ k: String, default d: Int, min lo: Int, max hi: Int) throws(APIError) -> Int {
        guard let s = string(k) else { return d }
        guard let v = Int(s), v >= lo, v <= hi else { throw .badRequest(k, "\"\(s)\" is not a whole number in \(lo)…\(hi)") }
        return v
    }

    /// A list of values of a closed set, comma-separated.
    func list<T: RawRepresentable & CaseIterable>(_ k: String, _: T.Type) throws(APIError) -> [T] where T.RawValue == String {
        guard let s = string(k) else { return [] }
        var out: [T] = []
        for part in s.split(separator: ",") {
            guard let v = T(rawValue: String(part)) else {
                throw .badRequest(k, "\"\(part)\" is not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
            }
            out.append(v)
        }
        return out
    }

    /// An instant: RFC 3339 with offset, or a local date (its start; with `endOfDay`, the next day's start).
    func time(_ k: String, calendar: LocalCalendar, endOfDay: Bool = false) throws(APIError) -> Millis? {
        guard let s = string(k) else { return nil }
        guard let t = calendar.instant(s, endOfDay: endOfDay) else {
            throw .badRequest(k, "\"\(s)\" is not a date YYYY-MM-DD or an RFC 3339 time with offset")
        }
        return t
    }
}

/// A JSON value as a request carries it (booleans, numbers and strings kept apart).
enum BodyValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([BodyValue]), object([String: BodyValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([BodyValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: BodyValue].self)) }
    }
}

/// A JSON request body as an object.
enum RequestJSON {
    static func object(_ request: Request) async throws(APIError) -> [String: BodyValue] {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: 1 << 20) } catch {
            throw APIError(status: .contentTooLarge, message: "the body is larger than 1 MiB")
        }
        if buffer.readableBytes == 0 { return [:] }
        guard let value = try? JSONDecoder().decode(BodyValue.self, from: Data(buffer.readableBytesView)) else {
            throw .badRequest("body", "not valid JSON")
        }
        guard case .object(let object) = value else { throw .badRequest("body", "must be a JSON object") }
        return object
    }

    /// An optional text field (null and absent are the same).
    static func text(_ o: [String: BodyValue], _ k: String) throws(APIError) -> String? {
        switch o[k] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .badRequest(k, "must be a string")
        }
    }

    /// A scan's fields as text (SPEC §3.5), from a JSON object; validation proper is `ScanFields`'.
    static func scanFields(_ o: [String: BodyValue]) throws(APIError) -> [String: String] {
        var out: [String: String] = [:]
        for (k, _) in o where !ScanFields.columns.contains(k) { throw .badRequest(k, "unknown field") }
        for k in ScanFields.columns { if let v = try text(o, k) { out[k] = v } }
        return out
    }

    /// A task's fields as tasks.csv has them (SPEC §2), from a JSON object; validation proper is
    /// the tasks file's (`TaskFields`).
    static func taskFields(_ o: [String: BodyValue]) throws(APIError) -> [String: String] {
        let known: Set<String> = ["task_id", "agency_id", "partner_agency_ids", "enterprise_id", "site_id", "kind", "start", "end",
                                  "announced_at", "cross_region", "status"]
        var out: [String: String] = [:]
        for (k, v) in o {
            guard known.contains(k) else { throw .badRequest(k, "unknown field") }
            switch (k, v) {
            case ("partner_agency_ids", .null), ("cross_region", .null):
                out[k] = ""
            case ("partner_agency_ids", .array(let list)):
                var ids: [String] = []
                for item in list {
                    guard case .string(let id) = item, !id.contains(";"), !id.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw .badRequest(k, "must be a list of agency ids")
                    }
                    ids.append(id)
                }
                out[k] = ids.joined(separator: ";")
            case ("partner_agency_ids", _):
                throw .badRequest(k, "must be a list of agency ids")
            case ("cross_region", .bool(let b)):
                out[k] = b ? "true" : "false"
            case ("cross_region", _):
                throw .badRequest(k, "must be true or false")
            default:
                out[k] = try text(o, k) ?? ""
            }
        }
        return out
    }
}
