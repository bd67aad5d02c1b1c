import Foundation

/// Reads the four registry files of SPEC §2 from their bytes. All or nothing: the first error
/// stops the load and nothing half-read is returned.
public struct RegistryParser {
    public var coordinates: CoordinateSystem
    public var calendar: LocalCalendar
    public var margin: Double
    /// Where every site must lie (`registry.bounds`, WGS 84): a vertex outside is an error — lat
    /// and lon swapped, or a site of another city, is caught at the load instead of never matching.
    public var bounds: GeoBox?

    public init(coordinates: CoordinateSystem = .wgs84, calendar: LocalCalendar = .shanghai, margin: Double = 30, bounds: GeoBox? = nil) {
        self.coordinates = coordinates; self.calendar = calendar; self.margin = margin; self.bounds = bounds
    }

    public func parse(sites: [UInt8], agencies: [UInt8], vehicles: [UInt8], tasks: [UInt8]) throws(RegistryError) -> Registry {
        var warnings: [String] = []
        let siteList = try parseSites(sites, warnings: &warnings)
        let agencyList = try parseAgencies(agencies)
        let agencyIds = Set(agencyList.map(\.id))
        let vehicleList = try parseVehicles(vehicles, agencies: agencyIds)
        let taskList = try parseTasks(tasks, agencies: agencyIds)
        return Registry(sites: siteList, agencies: agencyList, vehicles: vehicleList, tasks: taskList,
                        margin: margin, warnings: warnings)
    }

    // MARK: sites.geojson

    public func parseSites(_ bytes: [UInt8], warnings: inout [String]) throws(RegistryError) -> [(Site, SiteGeometry)] {
        let file = "sites.geojson"
        let reader = GeoJSONReader(bytes)
        var out: [(Site, SiteGeometry)] = []
        var seen = Set<String>()
        var collected = warnings
        do {
            let type = try reader.readCollection { n, f in
                if let site = try self.site(f, number: n + 1, file: file, seen: &seen, warnings: &collected) { out.append(site) }
            }
            guard type == "FeatureCollection" else {
                throw RegistryError(file: file, field: "type", message: "must be a FeatureCollection")
            }
        } catch let e as RegistryError {
            throw e
        } catch let e as GeoJSONReader.SyntaxError {
            throw RegistryError(file: file, location: "line \(reader.line(of: e.offset))", message: "not valid JSON: \(e.message)")
        } catch {
            throw RegistryError(file: file, message: "\(error)")
        }
        warnings = collected
        return out
    }

    private func site(_ f: GeoJSONReader.Feature, number: Int, file: String, seen: inout Set<String>,
                      warnings: inout [String]) throws(RegistryError) -> (Site, SiteGeometry)? {
        var loc = "feature \(number)"
        guard f.hasProperties else {
            throw RegistryError(file: file, location: loc, field: "properties", message: "missing or not an object")
        }
        let props = f.properties
        let id = try idString(props["site_id"], file: file, loc: loc, field: "site_id")
        loc += " (site_id \"\(id)\")"
        let enterprise = try idString(props["enterprise_id"], file: file, loc: loc, field: "enterprise_id")
        guard seen.insert(id).inserted else {
            throw RegistryError(file: file, location: loc, field: "site_id", message: "duplicate site_id \"\(id)\"")
        }
        let site = Site(id: id, enterpriseId: enterprise,
                        name: try optionalText(props["name"], file: file, loc: loc, field: "name"),
                        region: try optionalText(props["region"], file: file, loc: loc, field: "region"),
                        riskClass: try optionalText(props["risk_class"], file: file, loc: loc, field: "risk_class"))
        guard f.hasGeometry, let type = f.geometryType else {
            throw RegistryError(file: file, location: loc, field: "geometry", message: "missing or without a type")
        }
        let coordinates = f.coordinates ?? .list([])
        let geometry: SiteGeometry?
        switch type {
        case "Point":
            let c = try position(coordinates, file: file, loc: loc)
            guard case .number(let r, _)? = props["radius_m"], r.isFinite, r > 0 else {
                throw RegistryError(file: file, location: loc, field: "radius_m",
                                    message: "a Point site needs a positive number radius_m")
            }
            guard r <= Self.maxRadiusM else {
                throw RegistryError(file: file, location: loc, field: "radius_m",
                                    message: "\(r) m is over the \(Int(Self.maxRadiusM)) m a site's radius may have")
            }
            geometry = SiteGeometry(center: c, radiusM: r)
        case "Polygon":
            geometry = try polygons([coordinates], file: file, loc: loc, warnings: &warnings)
        case "MultiPolygon":
            guard case .list(let polys) = coordinates else {
                throw RegistryError(file: file, location: loc, field: "geometry.coordinates", message: "not an array")
            }
            geometry = try polygons(polys, file: file, loc: loc, warnings: &warnings)
        default:
            throw RegistryError(file: file, location: loc, field: "geometry.type",
                                message: "\"\(type)\" is not Polygon, MultiPolygon or Point")
        }
        guard let geometry else {
            warnings.append("\(file) \(loc): no ring with three distinct points; site dropped")
            return nil
        }
        return (site, geometry)
    }

    /// Vertices one site may have, all its rings together: a building or a plot has tens to a
    /// few thousand; a 50 MB outline took ~540 MB resident and kept it.
    public static let maxVerticesPerSite = 100_000

    /// A circle site's radius at most: a plant or a campus, not a district (a radius of 1e300 m
    /// once made the spatial index's cell count overflow).
    public static let maxRadiusM = 20_000.0

    private func polygons(_ polys: [GeoJSONReader.Coordinates], file: String, loc: String,
                          warnings: inout [String]) throws(RegistryError) -> SiteGeometry? {
        var vertices = 0
        for case .list(let rings) in polys { for case .list(let pts) in rings { vertices += pts.count } }
        guard vertices <= Self.maxVerticesPerSite else {
            throw RegistryError(file: file, location: loc, field: "geometry.coordinates",
                                message: "\(vertices) vertices, over the \(Self.maxVerticesPerSite) a site may have")
        }
        var kept: [[[LatLon]]] = []
        for (pi, rawPoly) in polys.enumerated() {
            guard case .list(let rings) = rawPoly else {
                throw RegistryError(file: file, location: loc, field: "geometry.coordinates", message: "polygon \(pi + 1) is not an array of rings")
            }
            var poly: [[LatLon]] = []
            for (ri, rawRing) in rings.enumerated() {
                guard case .list(let pts) = rawRing else {
                    throw RegistryError(file: file, location: loc, field: "geometry.coordinates", message: "ring \(ri + 1) is not an array of positions")
                }
                var ring: [LatLon] = []
                ring.reserveCapacity(pts.count)
                for p in pts { ring.append(try position(p, file: file, loc: loc)) }
                if let clean = RingCleaner.clean(ring) {
                    poly.append(clean)
                } else if ri == 0 {
                    warnings.append("\(file) \(loc): polygon \(pi + 1) shell has fewer than three distinct points; polygon dropped")
                    break
                } else {
                    warnings.append("\(file) \(loc): polygon \(pi + 1) ring \(ri + 1) has fewer than three distinct points; ring dropped")
                }
            }
            if !poly.isEmpty { kept.append(poly) }
        }
        return kept.isEmpty ? nil : SiteGeometry(polygons: kept)
    }

    private func position(_ raw: GeoJSONReader.Coordinates, file: String, loc: String) throws(RegistryError) -> LatLon {
        guard case .list(let a) = raw, a.count >= 2, case .number(let lon) = a[0], case .number(let lat) = a[1] else {
            throw RegistryError(file: file, location: loc, field: "geometry.coordinates", message: "a position must be [lon, lat]")
        }
        guard Geo.isValid(lat: lat, lon: lon), lat.isFinite, lon.isFinite else {
            throw RegistryError(file: file, location: loc, field: "geometry.coordinates",
                                message: "[\(lon), \(lat)] is out of range (lon −180…180, lat −90…90)")
        }
        let p = ChinaCoordinates.toWGS84(LatLon(lat: lat, lon: lon), from: coordinates)
        if let b = bounds, !b.contains(lat: p.lat, lon: p.lon) {
            let swapped = b.contains(lat: lon, lon: lat) ? " (lon and lat swapped? GeoJSON is [lon, lat])" : ""
            throw RegistryError(file: file, location: loc, field: "geometry.coordinates",
                                message: "[\(lon), \(lat)] is outside registry.bounds [\(b.minLon), \(b.minLat), \(b.maxLon), \(b.maxLat)]\(swapped)")
        }
        return p
    }

    private func idString(_ raw: GeoJSONReader.Property?, file: String, loc: String, field: String) throws(RegistryError) -> String {
        switch raw {
        case .string(let s)? where !s.isEmpty: return s
        case .number(let d, let text)? where d == d.rounded() && !text.contains(".") && !text.lowercased().contains("e"): return text
        case nil, .null?: throw RegistryError(file: file, location: loc, field: field, message: "required")
        default: throw RegistryError(file: file, location: loc, field: field, message: "must be a non-empty string")
        }
    }

    private func optionalText(_ raw: GeoJSONReader.Property?, file: String, loc: String, field: String) throws(RegistryError) -> String? {
        switch raw {
        case nil, .null?: return nil
        case .string(let s)?: return s.isEmpty ? nil : s
        case .number(_, let text)?: return text
        default: throw RegistryError(file: file, location: loc, field: field, message: "must be a string")
        }
    }

    // MARK: CSV files

    /// Rows of a CSV file as column-name → text, with their line numbers; required columns checked.
    func table(_ bytes: [UInt8], file: String, required: [String]) throws(RegistryError) -> [(line: Int, row: [String: String])] {
        var result: [(Int, [String: String])] = []
        var failure: RegistryError?
        bytes.withUnsafeBufferPointer { buf in
            var reader = CSVReader(buf)
            var fields: [CSVField] = []
            guard reader.next(into: &fields) else {
                failure = RegistryError(file: file, message: "empty: a header row is required")
                return
            }
            let header = fields.map { reader.text(of: $0).lowercased() }
            for r in required where !header.contains(r) {
                failure = RegistryError(file: file, location: "line 1", field: r, message: "missing column")
                return
            }
            while reader.next(into: &fields) {
                var row: [String: String] = [:]
                for (i, f) in fields.enumerated() where i < header.count { row[header[i]] = reader.text(of: f) }
                if fields.count == 1 && fields[0].isEmpty { continue }
                result.append((reader.line, row))
            }
        }
        if let failure { throw failure }
        return result
    }

    public func parseAgencies(_ bytes: [UInt8]) throws(RegistryError) -> [Agency] {
        let file = "agencies.csv"
        var out: [Agency] = []
        var seen = Set<String>()
        for (line, row) in try table(bytes, file: file, required: ["agency_id", "name", "jurisdiction"]) {
            let loc = "line \(line)"
            let id = row["agency_id"] ?? ""
            guard !id.isEmpty else { throw RegistryError(file: file, location: loc, field: "agency_id", message: "required") }
            guard seen.insert(id).inserted else {
                throw RegistryError(file: file, location: loc, field: "agency_id", message: "duplicate agency_id \"\(id)\"")
            }
            let j = (row["jurisdiction"] ?? "").trimmingSpaces
            let jurisdiction: Agency.Jurisdiction
            if j == "*" {
                jurisdiction = .everywhere
            } else {
                let regions = j.split(separator: ";").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
                guard !regions.isEmpty else {
                    throw RegistryError(file: file, location: loc, field: "jurisdiction",
                                        message: "must be * or region codes separated by ;")
                }
                jurisdiction = .regions(Set(regions))
            }
            out.append(Agency(id: id, name: row["name"] ?? "", jurisdiction: jurisdiction))
        }
        return out
    }

    public func parseVehicles(_ bytes: [UInt8], agencies: Set<String>) throws(RegistryError) -> [Vehicle] {
        let file = "vehicles.csv"
        var out: [Vehicle] = []
        var seen = Set<String>()
        for (line, row) in try table(bytes, file: file, required: ["vehicle_id", "agency_id"]) {
            let loc = "line \(line)"
            let id = row["vehicle_id"] ?? ""
            guard !id.isEmpty else { throw RegistryError(file: file, location: loc, field: "vehicle_id", message: "required") }
            guard seen.insert(id).inserted else {
                throw RegistryError(file: file, location: loc, field: "vehicle_id", message: "duplicate vehicle_id \"\(id)\"")
            }
            let agency = row["agency_id"] ?? ""
            guard agencies.contains(agency) else {
                throw RegistryError(file: file, location: loc, field: "agency_id",
                                    message: agency.isEmpty ? "required" : "unknown agency \"\(agency)\"")
            }
            let plate = row["plate"].flatMap { $0.isEmpty ? nil : $0 }
            out.append(Vehicle(id: id, agencyId: agency, plate: plate))
        }
        return out
    }

    public func parseTasks(_ bytes: [UInt8], agencies: Set<String>) throws(RegistryError) -> [InspectionTask] {
        let file = "tasks.csv"
        var out: [InspectionTask] = []
        var seen = Set<String>()
        let required = ["task_id", "agency_id", "enterprise_id", "kind", "start", "end"]
        for (line, row) in try table(bytes, file: file, required: required) {
            let task: InspectionTask
            do throws(TaskFieldError) {
                task = try TaskFields.task(from: row, agencies: agencies, calendar: calendar)
            } catch {
                throw RegistryError(file: file, location: "line \(line)", field: error.field, message: error.message)
            }
            guard seen.insert(task.id).inserted else {
                throw RegistryError(file: file, location: "line \(line)", field: "task_id", message: "duplicate task_id \"\(task.id)\"")
            }
            out.append(task)
        }
        return out
    }
}

/// A task field that does not validate: the same check serves the tasks file and the HTTP API.
public struct TaskFieldError: Error, Sendable, Equatable {
    public var field: String
    public var message: String
    public init(field: String, message: String) { self.field = field; self.message = message }
}

/// Validation of one task from its text fields (SPEC §2), shared by every way tasks arrive.
public enum TaskFields {
    public static func task(from row: [String: String], agencies: Set<String>,
                            calendar: LocalCalendar) throws(TaskFieldError) -> InspectionTask {
        func text(_ k: String) -> String { (row[k] ?? "").trimmingSpaces }
        func need(_ k: String) throws(TaskFieldError) -> String {
            let v = text(k)
            guard !v.isEmpty else { throw TaskFieldError(field: k, message: "required") }
            return v
        }
        let id = try need("task_id")
        let agency = try need("agency_id")
        guard agencies.contains(agency) else { throw TaskFieldError(field: "agency_id", message: "unknown agency \"\(agency)\"") }
        let partners = text("partner_agency_ids").split(separator: ";")
            .map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        for p in partners where !agencies.contains(p) {
            throw TaskFieldError(field: "partner_agency_ids", message: "unknown agency \"\(p)\"")
        }
        if partners.contains(agency) {
            throw TaskFieldError(field: "partner_agency_ids", message: "lists the lead agency \"\(agency)\"")
        }
        let enterprise = try need("enterprise_id")
        let site = text("site_id")
        let kindText = try need("kind")
        guard let kind = TaskKind(rawValue: kindText) else {
            throw TaskFieldError(field: "kind", message: "\"\(kindText)\" is not one of "
                + TaskKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let start = try bound(text("start"), field: "start", isEnd: false, calendar: calendar)
        let end = try bound(text("end"), field: "end", isEnd: true, calendar: calendar)
        guard end >= start else { throw TaskFieldError(field: "end", message: "is before start") }
        var announced: Millis?
        let a = text("announced_at")
        if !a.isEmpty {
            guard let t = Timestamp.parseRFC3339(a) else {
                throw TaskFieldError(field: "announced_at", message: "\"\(a)\" is not an RFC 3339 time with offset")
            }
            announced = t
        }
        let cross: Bool
        switch text("cross_region").lowercased() {
        case "", "false": cross = false
        case "true": cross = true
        case let v: throw TaskFieldError(field: "cross_region", message: "\"\(v)\" is not true or false")
        }
        let status: InspectionTask.Status
        switch text("status").lowercased() {
        case "", "active": status = .active
        case "cancelled", "canceled": status = .cancelled
        case let v: throw TaskFieldError(field: "status", message: "\"\(v)\" is not active or cancelled")
        }
        return InspectionTask(id: id, agencyId: agency, partnerAgencyIds: partners, enterpriseId: enterprise,
                              siteId: site.isEmpty ? nil : site, kind: kind, start: start, end: end,
                              announcedAt: announced, crossRegion: cross, status: status)
    }

    /// A window bound: RFC 3339 with offset, or a local date (a start is its midnight, an end the
    /// last millisecond of that day: `end` is inclusive).
    static func bound(_ v: String, field: String, isEnd: Bool, calendar: LocalCalendar) throws(TaskFieldError) -> Millis {
        guard !v.isEmpty else { throw TaskFieldError(field: field, message: "required") }
        if let day = Timestamp.parseDay(v) {
            return isEnd ? calendar.startOfDay(day + 1) - 1 : calendar.startOfDay(day)
        }
        if let t = Timestamp.parseRFC3339(v) { return t }
        throw TaskFieldError(field: field, message: "\"\(v)\" is not a date YYYY-MM-DD or an RFC 3339 time with offset")
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (what a hand-edited CSV cell carries), and
    /// without Foundation's per-character Unicode work.
    var trimmingSpaces: String {
        let u = Array(utf8)
        return u.withUnsafeBufferPointer { b in
            let (s, e) = NumberParsing.trimmed(b, 0, b.count)
            return String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)
        }
    }
}
