import Foundation
import Hummingbird
import ServiceLifecycle
import InspectionConfig
import InspectionCore
import InspectionDaemon
import InspectionStore

/// A route as the OpenAPI document names it (`/api/v1/alerts/{alert_id}`).
public struct RouteSpec: Hashable, Sendable, CustomStringConvertible {
    public var method: String
    public var path: String
    public var description: String { "\(method) \(path)" }
    public init(method: String, path: String) { self.method = method; self.path = path }
}

/// The supervision office's API (SPEC §5): alerts, visits, tasks, registry reload, statistics and
/// the live stream, under `/api/v1`, each call with a bearer token. Reads go to the store (WAL:
/// they never wait for the engine); changes to tasks and the registry go to the engine's thread,
/// which answers once they are committed.
struct SupervisionAPI: Sendable {
    let store: Store
    let daemon: any OfficeBackend
    let access: Access
    let calendar: LocalCalendar
    let registry: RegistryView
    /// The rules' settings: caps, task kinds' policies, `rules.scan_slack` (the scan rate's window).
    let settings: EngineSettings
    var scanSlack: Millis { settings.scanSlack }

    typealias Handler = @Sendable (Request, BasicRequestContext, Principal) async throws(APIError) -> Response

    /// Every route, registered on `router` and listed (the OpenAPI document is checked against the list).
    func register(on router: Router<BasicRequestContext>) -> [RouteSpec] {
        var table: [RouteSpec] = []
        func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
            table.append(RouteSpec(method: method.rawValue, path: path))
            // OpenAPI's {name} is Hummingbird's :name.
            let hb = path.split(separator: "/").map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : $0 }.joined(separator: "/")
            let access = self.access
            router.on(RouterPath("/" + hb), method: method) { request, context -> Response in
                do {
                    let principal = try access.principal(request)
                    return try await handler(request, context, principal)
                } catch let e as APIError {
                    return APIValues.response(e)
                } catch {
                    context.logger.error("api call failed", metadata: ["iw.path": "\(request.uri.path)", "iw.error": "\(error)"])
                    return APIValues.response(APIError(status: .internalServerError, message: "internal error: \(error)"))
                }
            }
        }
        add(.get, "/api/v1/me", me)
        add(.get, "/api/v1/alerts", listAlerts)
        add(.get, "/api/v1/alerts/{alert_id}", alertDetail)
        add(.get, "/api/v1/alerts/{alert_id}/history", alertHistory)
        add(.post, "/api/v1/alerts/{alert_id}/acknowledge", acknowledge)
        add(.post, "/api/v1/alerts/{alert_id}/resolve", resolve)
        add(.post, "/api/v1/alerts/{alert_id}/dismiss", dismiss)
        add(.get, "/api/v1/visits", listVisits)
        add(.get, "/api/v1/visits/{visit_id}", visitDetail)
        add(.get, "/api/v1/tasks", listTasks)
        add(.post, "/api/v1/tasks", createTask)
        add(.get, "/api/v1/tasks/{task_id}", taskDetail)
        add(.patch, "/api/v1/tasks/{task_id}", amendTask)
        add(.delete, "/api/v1/tasks/{task_id}", cancelTask)
        add(.post, "/api/v1/registry/reload", reload)
        add(.get, "/api/v1/scans", listScans)
        add(.post, "/api/v1/scans", postScan)
        add(.get, "/api/v1/stats", statistics)
        add(.get, "/api/v1/stats/series", statisticsSeries)
        add(.get, "/api/v1/events", events)
        add(.get, "/api/v1/sites", listSites)
        add(.get, "/api/v1/agencies", listAgencies)
        add(.get, "/api/v1/vehicles", listVehicles)
        add(.get, "/api/v1/enterprises/{enterprise_id}", enterprise)
        return table
    }

    // MARK: helpers

    static func read<T>(_ body: () async throws -> T) async throws(APIError) -> T {
        do { return try await body() } catch let e as APIError { throw e } catch {
            throw APIError(status: .serviceUnavailable, message: "store: \(error)")
        }
    }

    /// The agency a call is confined to: an agency's token to its own (asking for another is 403).
    static func scope(_ p: Principal, asked: String?) throws(APIError) -> String? {
        guard let own = p.agencyId else { return asked }
        if let asked, asked != own { throw .forbidden("an agency's token sees only agency \"\(own)\"") }
        return own
    }

    static func parameter(_ context: BasicRequestContext, _ name: String) throws(APIError) -> String {
        guard let v = context.parameters.get(name), !v.isEmpty else { throw .badRequest(name, "required") }
        return v.removingPercentEncoding ?? v
    }

    static func page(_ q: Query) throws(APIError) -> (limit: Int, offset: Int) {
        (try q.int("limit", default: 100, min: 1, max: 1000), try q.int("offset", default: 0, min: 0, max: Int(Int32.max)))
    }

    /// Rows an export holds at most (every row of the filter, up to this).
    static let exportLimit = 100_000
    /// Visits a GeoJSON export holds at most (each with its track).
    static let geoJSONLimit = 10_000

    /// The narrowing alert and visit lists share, from the query (an agency's token confined to
    /// its own). An export (`rows`) takes every row of the filter up to `rows` unless `limit` says fewer.
    func records(_ q: Query, _ p: Principal, rows: Int? = nil) throws(APIError) -> RecordFilter {
        var f = RecordFilter()
        f.agencyId = try Self.scope(p, asked: q.string("agency_id"))
        f.enterpriseId = q.string("enterprise_id")
        f.siteId = q.string("site_id")
        f.vehicleId = q.string("vehicle_id")
        f.from = try q.time("from", calendar: calendar)
        f.to = try q.time("to", calendar: calendar, endOfDay: true)
        if let rows {
            (f.limit, f.offset) = (try q.int("limit", default: rows, min: 1, max: rows), try q.int("offset", default: 0, min: 0, max: Int(Int32.max)))
        } else {
            (f.limit, f.offset) = try Self.page(q)
        }
        return f
    }

    /// Today in local time, for a download's name (`alerts-20260310.csv`).
    func today() -> String {
        String(calendar.localText(Millis(Date().timeIntervalSince1970 * 1000)).prefix(10).filter { $0 != "-" })
    }

    // MARK: routes

    func me(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        APIValues.response(.object([("name", .string(p.name)), ("role", .string(p.role.rawValue)), ("agency_id", .optional(p.agencyId))]))
    }

    func listAlerts(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        let format = try ExportFormat.of(r, offered: [.json, .csv, .xlsx])
        var f = AlertFilter()
        f.kinds = try q.list("kind", AlertKind.self)
        f.statuses = try q.list("status", AlertStatus.self)
        f.records = try records(q, p, rows: format == .json ? nil : Self.exportLimit)
        let filter = f
        let (items, total) = try await Self.read { try await store.alerts(filter) }
        let names = try await Self.read { try await registry.names() }
        if format != .json {
            return try format.download(ExportTables.alerts(items, names: names, calendar: calendar), name: "alerts-\(today())")
        }
        return APIValues.response(.object([("total", .int(Int64(total))), ("limit", .int(Int64(f.limit))), ("offset", .int(Int64(f.offset))),
                                           ("alerts", .array(items.map { APIValues.alert($0, names: names) }))]))
    }

    /// An alert the caller may see (404 if none, 403 if another agency's).
    func visibleAlert(_ id: String, _ p: Principal) async throws(APIError) -> StoredAlert {
        guard let a = try await Self.read({ try await store.alert(id: id) }) else { throw .notFound("no alert \"\(id)\"") }
        if let own = p.agencyId, a.record.agencyId != own { throw .forbidden("alert \"\(id)\" is not agency \"\(own)\"'s") }
        return a
    }

    func alertDetail(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let a = try await visibleAlert(try Self.parameter(c, "alert_id"), p)
        let history = try await Self.read { try await store.alertHistory(id: a.record.alertId) }
        var visit: JSONValue = .null
        if let vid = a.record.visitId, let v = try await Self.read({ try await store.visit(id: vid) }) {
            let track = try await Self.read { try await store.track(visitId: vid) }
            visit = Self.visitWithTrack(v, track)
        }
        // The other visits the evidence names: those of the occasions in the detail.
        let occasionIds = Self.occasionIds(inDetail: a.record.detail.serialized)
        let related = try await Self.read { try await store.visits(inOccasions: occasionIds) }
            .filter { $0.visitId != a.record.visitId }
        let site = try await Self.read { try await registry.site(a.record.siteId) }
        let names = try await Self.read { try await registry.names() }
        return APIValues.response(.object([
            ("alert", APIValues.alert(a, names: names)),
            ("history", .array(history.map(APIValues.change))),
            ("visit", visit),
            ("related_visits", .array(related.map { APIValues.visit($0, names: names) })),
            ("site", site.map { APIValues.site($0.0, $0.1) } ?? .null),
        ]))
    }

    static func visitWithTrack(_ v: VisitRecord, _ track: [Fix]) -> JSONValue {
        guard case .object(var kv) = v.json else { return .null }
        kv.append(("track", APIValues.track(track)))
        return .object(kv)
    }

    static func occasionIds(inDetail text: String) -> [String] {
        guard let data = text.data(using: .utf8), let detail = try? JSONDecoder().decode(BodyValue.self, from: data) else { return [] }
        var ids: [String] = []
        func walk(_ v: BodyValue) {
            switch v {
            case .object(let o):
                if case .string(let id)? = o["occasion_id"] { ids.append(id) }
                o.values.forEach(walk)
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        walk(detail)
        return Array(Set(ids)).sorted()
    }

    func alertHistory(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let a = try await visibleAlert(try Self.parameter(c, "alert_id"), p)
        let history = try await Self.read { try await store.alertHistory(id: a.record.alertId) }
        return APIValues.response(.object([("alert_id", .string(a.record.alertId)), ("status", .string(a.status.rawValue)),
                                           ("history", .array(history.map(APIValues.change)))]))
    }

    func acknowledge(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        try await move(r, c, p, to: .acknowledged, noteField: "note", required: false)
    }

    func resolve(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        try await move(r, c, p, to: .resolved, noteField: "reason", required: true)
    }

    func dismiss(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        try await move(r, c, p, to: .dismissed, noteField: "reason", required: true)
    }

    func move(_ r: Request, _ c: BasicRequestContext, _ p: Principal, to status: AlertStatus, noteField: String,
              required: Bool) async throws(APIError) -> Response {
        guard p.mayChangeAlerts else { throw .forbidden("role \(p.role.rawValue) may not change alerts") }
        let id = try Self.parameter(c, "alert_id")
        let body = try await RequestJSON.object(r)
        for k in body.keys where k != noteField { throw .badRequest(k, "unknown field") }
        let note = try RequestJSON.text(body, noteField)?.trimmingCharacters(in: .whitespacesAndNewlines)
        if required && (note ?? "").isEmpty { throw .badRequest(noteField, "required") }
        let outcome = try await Self.read {
            try await store.changeStatus(alertId: id, to: status, actor: p.name, note: (note ?? "").isEmpty ? nil : note,
                                         at: Millis(Date().timeIntervalSince1970 * 1000))
        }
        switch outcome {
        case .notFound: throw .notFound("no alert \"\(id)\"")
        case .conflict(let current): throw .conflict("alert \"\(id)\" is \(current.rawValue); it cannot become \(status.rawValue)")
        case .changed(let change):
            let a = try await visibleAlert(id, p)
            daemon.feed.publish([.status(change, agencyId: a.record.agencyId)])
            return APIValues.response(APIValues.alert(a))
        }
    }

    func listVisits(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        let format = try ExportFormat.of(r, offered: [.json, .csv, .xlsx, .geojson])
        var f = VisitFilter()
        f.records = try records(q, p, rows: format == .json ? nil : format == .geojson ? Self.geoJSONLimit : Self.exportLimit)
        f.taskId = q.string("task_id")
        let filter = f
        let (items, total) = try await Self.read { try await store.visits(filter) }
        let names = try await Self.read { try await registry.names() }
        if format != .json {
            if format == .geojson {
                var tracked: [(VisitRecord, [Fix])] = []
                for v in items { tracked.append((v, try await Self.read { try await store.track(visitId: v.visitId) })) }
                var out: [UInt8] = []
                ExportTables.visitsGeoJSON(tracked, names: names, calendar: calendar).write(to: &out)
                return ExportFormat.file(out, contentType: format.contentType + "; charset=utf-8", name: "visits-\(today()).geojson")
            }
            return try format.download(ExportTables.visits(items, names: names, calendar: calendar), name: "visits-\(today())")
        }
        return APIValues.response(.object([("total", .int(Int64(total))), ("limit", .int(Int64(f.limit))), ("offset", .int(Int64(f.offset))),
                                           ("visits", .array(items.map { APIValues.visit($0, names: names) }))]))
    }

    func visitDetail(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let id = try Self.parameter(c, "visit_id")
        guard let v = try await Self.read({ try await store.visit(id: id) }) else { throw .notFound("no visit \"\(id)\"") }
        if let own = p.agencyId, v.agencyId != own { throw .forbidden("visit \"\(id)\" is not agency \"\(own)\"'s") }
        let track = try await Self.read { try await store.track(visitId: id) }
        let site = try await Self.read { try await registry.site(v.siteId) }
        // A visit late positions changed is kept, marked with the visit that replaced it.
        let superseded = try await Self.read { try await store.supersession(visitId: id) }
        return APIValues.response(.object([
            ("visit", Self.visitWithTrack(v, track)), ("site", site.map { APIValues.site($0.0, $0.1) } ?? .null),
            ("superseded", superseded.map { s in
                .object([("by", .optional(s.by)), ("at", .time(s.at)), ("reason", .string(Reconciliation.reason))])
            } ?? .null),
        ]))
    }

    func listTasks(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        var f = TaskFilter()
        f.agencyId = try Self.scope(p, asked: q.string("agency_id"))
        f.enterpriseId = q.string("enterprise_id")
        if let s = q.string("status") {
            guard let st = InspectionTask.Status(rawValue: s) else { throw .badRequest("status", "\"\(s)\" is not active or cancelled") }
            f.status = st
        }
        (f.limit, f.offset) = try Self.page(q)
        let filter = f
        let (items, total) = try await Self.read { try await store.tasks(filter) }
        return APIValues.response(.object([("total", .int(Int64(total))), ("limit", .int(Int64(f.limit))), ("offset", .int(Int64(f.offset))),
                                           ("tasks", .array(items.map(APIValues.task)))]))
    }

    func taskDetail(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let id = try Self.parameter(c, "task_id")
        guard let t = try await Self.read({ try await store.task(id: id) }) else { throw .notFound("no task \"\(id)\"") }
        if let own = p.agencyId, !t.task.involves(agency: own) { throw .forbidden("task \"\(id)\" does not involve agency \"\(own)\"") }
        return APIValues.response(APIValues.task(t))
    }

    func createTask(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        guard p.mayChangeTasks else { throw .forbidden("role \(p.role.rawValue) may not register tasks") }
        var fields = try RequestJSON.taskFields(try await RequestJSON.object(r))
        if let own = p.agencyId, (fields["agency_id"] ?? "").isEmpty { fields["agency_id"] = own }  // an agency registers its own
        return try await submit(.createTask(fields: fields, by: Self.caller(p)), created: true)
    }

    func amendTask(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        guard p.mayChangeTasks else { throw .forbidden("role \(p.role.rawValue) may not amend tasks") }
        let id = try Self.parameter(c, "task_id")
        let fields = try RequestJSON.taskFields(try await RequestJSON.object(r))
        return try await submit(.amendTask(id: id, fields: fields, by: Self.caller(p)), created: false)
    }

    func cancelTask(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        guard p.mayChangeTasks else { throw .forbidden("role \(p.role.rawValue) may not cancel tasks") }
        let id = try Self.parameter(c, "task_id")
        return try await submit(.cancelTask(id: id, by: Self.caller(p)), created: false)
    }

    static func caller(_ p: Principal) -> Caller { Caller(name: p.name, agencyId: p.agencyId) }

    func submit(_ command: Command, created: Bool) async throws(APIError) -> Response {
        switch await daemon.submit(command) {
        case .success(let r):
            var kv: [(String, JSONValue)] = []
            if let t = r.task { kv.append(("task", APIValues.task(t))) }
            if let reg = r.registry {
                kv.append(("registry", .object([("sites", .int(Int64(reg.sites))), ("vehicles", .int(Int64(reg.vehicles))),
                                                 ("tasks", .int(Int64(reg.tasks)))])))
            }
            kv.append(("rematch", APIValues.rematch(r.rematch)))
            return APIValues.response(.object(kv), status: created ? .created : .ok)
        case .failure(let e):
            switch e {
            case .invalid(let field, let message): throw .badRequest(field, message)
            case .notFound(let m): throw .notFound(m)
            case .conflict(let m): throw .conflict(m)
            case .forbidden(let m): throw .forbidden(m)
            case .registry(let m): throw APIError(status: .unprocessableContent, message: m)
            case .failed(let m): throw APIError(status: .serviceUnavailable, message: m)
            }
        }
    }

    func listScans(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        var f = ScanFilter()
        f.agencyId = try Self.scope(p, asked: q.string("agency_id"))
        f.enterpriseId = q.string("enterprise_id")
        f.taskId = q.string("task_id")
        f.from = try q.time("from", calendar: calendar)
        f.to = try q.time("to", calendar: calendar, endOfDay: true)
        (f.limit, f.offset) = try Self.page(q)
        let filter = f
        let (items, total) = try await Self.read { try await store.scans(filter) }
        return APIValues.response(.object([("total", .int(Int64(total))), ("limit", .int(Int64(f.limit))), ("offset", .int(Int64(f.offset))),
                                           ("scans", .array(items.map(APIValues.scan)))]))
    }

    /// A code scan (SPEC §3.5), validated as the scan subscription and the CSV import validate
    /// it; an agency's token posts its own agency's (the agency may be left out). 202: journaled,
    /// stored once the engine takes it; 200: that scan is stored already (nothing changes);
    /// 409: another scan holds that `scan_id`.
    func postScan(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        guard p.mayChangeTasks else { throw .forbidden("role \(p.role.rawValue) may not post scans") }
        var fields = try RequestJSON.scanFields(try await RequestJSON.object(r))
        if let own = p.agencyId {
            if (fields["agency_id"] ?? "").isEmpty { fields["agency_id"] = own }
            guard fields["agency_id"] == own else { throw .forbidden("an agency posts only its own scans: agency_id must be \"\(own)\"") }
        }
        let scan: Scan
        do { scan = try ScanFields.scan(from: fields) } catch { throw .badRequest(error.field, error.message) }
        if let stored = try await Self.read({ try await store.scan(id: scan.scanId) }) {
            guard stored.scan == scan else { throw .conflict("scan_id \"\(scan.scanId)\" holds another scan") }
            return APIValues.response(.object([("scan", APIValues.scan(stored)), ("duplicate", .bool(true))]))
        }
        switch daemon.submitScan(scan) {
        case .success:
            return APIValues.response(.object([("scan", scan.json), ("duplicate", .bool(false))]), status: .accepted)
        case .failure(let e):
            throw APIError(status: .serviceUnavailable, message: "\(e)")
        }
    }

    /// The sites as GeoJSON (RFC 7946: `[lon, lat]`): polygons as drawn, a circle site as a Point
    /// with its `radius_m`. Filters: `enterprise_id`, `q` (in the name or the enterprise id, as
    /// the office searches by name or 统一社会信用代码), `bbox` (min_lon,min_lat,max_lon,max_lat).
    func listSites(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        let enterprise = q.string("enterprise_id")
        let text = q.string("q")?.lowercased()
        var box: GeoBox?
        if let b = q.string("bbox") {
            let n = b.split(separator: ",").compactMap { Double($0) }
            guard n.count == 4, n[0] <= n[2], n[1] <= n[3], n.allSatisfy(\.isFinite) else {
                throw .badRequest("bbox", "must be min_lon,min_lat,max_lon,max_lat")
            }
            box = GeoBox(minLat: n[1], minLon: n[0], maxLat: n[3], maxLon: n[2])
        }
        let (limit, offset) = (try q.int("limit", default: 1000, min: 1, max: 100_000), try q.int("offset", default: 0, min: 0, max: Int(Int32.max)))
        let found = try await Self.read {
            try await registry.sites { s, g in
                if let enterprise, s.enterpriseId != enterprise { return false }
                if let text, !(s.name ?? "").lowercased().contains(text) && !s.enterpriseId.lowercased().contains(text) && !s.id.lowercased().contains(text) {
                    return false
                }
                if let box, g.box.maxLat < box.minLat || g.box.minLat > box.maxLat || g.box.maxLon < box.minLon || g.box.minLon > box.maxLon {
                    return false
                }
                return true
            }
        }
        let classes = try await Self.read { try await registry.enterpriseClasses() }
        let page = found.dropFirst(offset).prefix(limit)
        return APIValues.response(.object([
            ("type", .string("FeatureCollection")), ("total", .int(Int64(found.count))), ("limit", .int(Int64(limit))), ("offset", .int(Int64(offset))),
            ("features", .array(page.map { APIValues.siteFeature($0.0, $0.1, enterpriseClass: classes[$0.0.enterpriseId]) })),
        ]), contentType: "application/geo+json")
    }

    /// One enterprise's year (`year`, default the current local one): its sites and class, every
    /// visit of every agency with its task, each agency's occasions against the cap that applies
    /// (its class's, else `annual_cap`), and its open alerts. An agency's token sees its own.
    func enterprise(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let id = try Self.parameter(c, "enterprise_id")
        let now = Millis(Date().timeIntervalSince1970 * 1000)
        let year = try Query(r).int("year", default: calendar.year(of: now), min: 2000, max: 2100)
        let from = calendar.startOfDay(Timestamp.daysFromCivil(year: year, month: 1, day: 1))
        let to = calendar.startOfDay(Timestamp.daysFromCivil(year: year + 1, month: 1, day: 1))
        let sites = try await Self.read { try await registry.sites { s, _ in s.enterpriseId == id } }
        guard !sites.isEmpty else { throw .notFound("no enterprise \"\(id)\" in the registry") }
        var vf = VisitFilter()
        vf.enterpriseId = id
        vf.agencyId = p.agencyId
        (vf.from, vf.to, vf.limit) = (from, to, Self.exportLimit)
        let visitFilter = vf
        let visits = try await Self.read { try await store.visits(visitFilter) }.items.sorted { $0.start < $1.start }
        var tasks: [String: InspectionTask] = [:]
        for t in Set(visits.compactMap(\.taskId)) { tasks[t] = try await Self.read { try await store.task(id: t) }?.task }
        let classes = try await Self.read { try await registry.enterpriseClasses() }
        let summary = EnterpriseYear(visits: visits, tasks: tasks, riskClass: classes[id], settings: settings)
        var af = AlertFilter()
        af.enterpriseId = id
        af.agencyId = p.agencyId
        af.statuses = [.open, .acknowledged]
        af.limit = 1000
        let alertFilter = af
        let alerts = try await Self.read { try await store.alerts(alertFilter) }.items
        let names = try await Self.read { try await registry.names() }
        return APIValues.response(.object([
            ("enterprise_id", .string(id)), ("name", .optional(sites.lazy.compactMap(\.0.name).first)),
            ("risk_class", .optional(classes[id])), ("year", .int(Int64(year))),
            ("annual_cap", .int(Int64(summary.cap))), ("reasonable_cap", .int(Int64(summary.reasonableCap))),
            ("sites", .array(sites.map { s, g in
                .object([("site_id", .string(s.id)), ("name", .optional(s.name)), ("region", .optional(s.region)),
                         ("center", .array([.double((g.box.minLat + g.box.maxLat) / 2), .double((g.box.minLon + g.box.maxLon) / 2)]))])
            })),
            ("agencies", .array(summary.agencies.map { a in
                .object([("agency_id", .string(a.agencyId)), ("agency_name", .optional(names.agencies[a.agencyId])),
                         ("visits", .int(Int64(a.visits))), ("occasions", .int(Int64(a.occasions))),
                         ("counting_occasions", .int(Int64(a.counting))), ("with_task", .int(Int64(a.withTask))),
                         ("without_task", .int(Int64(a.withoutTask))), ("over_cap", .bool(a.counting > summary.cap))])
            })),
            ("visits", .array(visits.map { v in
                guard case .object(var kv) = APIValues.visit(v, names: names) else { return .null }
                let t = v.taskId.flatMap { tasks[$0] }
                kv += [("task_kind", .optional(t?.kind.rawValue)), ("task_kind_name", .optional(t?.kind.chineseName)),
                       ("counts_towards_cap", .bool(t.map { settings.policy($0.kind).countsTowardsCap } ?? true))]
                return .object(kv)
            })),
            ("open_alerts", .array(alerts.map { APIValues.alert($0, names: names) })),
        ]))
    }

    /// The agencies, with how many vehicles each has (an agency's token: its own).
    func listAgencies(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let agencies = try await Self.read { try await registry.agencies() }.filter { p.agencyId == nil || $0.id == p.agencyId }
        let vehicles = try await Self.read { try await registry.vehicles() }
        let count = Dictionary(grouping: vehicles, by: \.agencyId).mapValues(\.count)
        return APIValues.response(.object([("agencies", .array(agencies.map { APIValues.agency($0, vehicles: count[$0.id] ?? 0) }))]))
    }

    /// The vehicles with their agency, plate and newest position (as the engine has it); filter
    /// `agency_id` (an agency's token: its own).
    func listVehicles(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let agency = try Self.scope(p, asked: Query(r).string("agency_id"))
        let vehicles = try await Self.read { try await registry.vehicles() }.filter { agency == nil || $0.agencyId == agency }
        let names = Dictionary(try await Self.read { try await registry.agencies() }.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let last = await daemon.lastPositions()
        return APIValues.response(.object([("vehicles", .array(vehicles.map { v in
            .object([("vehicle_id", .string(v.id)), ("agency_id", .string(v.agencyId)), ("agency_name", .optional(names[v.agencyId])),
                     ("plate", .optional(v.plate)),
                     ("last_position", last[v.id].map { f in .object([("ts", .time(f.ts)), ("lat", .double(f.lat)), ("lon", .double(f.lon))]) } ?? .null)])
        }))]))
    }

    func reload(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        guard p.mayReload else { throw .forbidden("role \(p.role.rawValue) may not reload the registry") }
        return try await submit(.reload(by: Self.caller(p)), created: false)
    }

    /// A statistics call's agency (an agency's token: its own) and period (default: the current
    /// local calendar year; `to` a date is inclusive).
    func statisticsScope(_ q: Query, _ p: Principal) throws(APIError) -> (agency: String?, from: Millis, to: Millis) {
        let agency = try Self.scope(p, asked: q.string("agency_id"))
        let year = calendar.yearBounds(of: Millis(Date().timeIntervalSince1970 * 1000))
        let from = try q.time("from", calendar: calendar) ?? year.from
        let to = try q.time("to", calendar: calendar, endOfDay: true) ?? year.to
        guard to > from else { throw .badRequest("to", "must be after from") }
        return (agency, from, to)
    }

    /// The statistics rows a caller sees: an agency's token, its own agency's (not all agencies').
    func statisticsRows(from: Millis, to: Millis, agency: String?, _ p: Principal) async throws(APIError) -> [AgencyStatistics] {
        let slack = scanSlack
        let rows = try await Self.read { try store.statistics(from: from, to: to, agencyId: agency, scanSlack: slack) }
        return p.agencyId == nil ? rows : rows.filter { $0.agencyId != nil }
    }

    func statistics(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let (agency, from, to) = try statisticsScope(Query(r), p)
        let format = try ExportFormat.of(r, offered: [.json, .csv, .xlsx])
        let shown = try await statisticsRows(from: from, to: to, agency: agency, p)
        if format != .json {
            let names = try await Self.read { try await registry.names() }
            return try format.download(ExportTables.statistics(shown, names: names, from: from, to: to, calendar: calendar), name: "stats-\(today())")
        }
        // By risk class: in the JSON only (the tables are per agency).
        let classOf = try await Self.read { try await registry.enterpriseClasses() }
        let classes = try await Self.read { try store.classStatistics(from: from, to: to, agencyId: agency, classOf: classOf) }
        return APIValues.response(APIValues.statistics(shown, classes: classes, from: from, to: to))
    }

    /// The statistics of each local month (`interval=month`, the default), week (from Monday) or
    /// day in [from, to] — at most 62 periods — for the overview's charts.
    func statisticsSeries(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        let q = Query(r)
        let (agency, from, to) = try statisticsScope(q, p)
        let interval = q.string("interval") ?? "month"
        var starts: [Millis] = []
        var day = calendar.day(of: from)
        switch interval {
        case "day": break
        case "week": day -= (day + 3) % 7  // 1970-01-01 was a Thursday: back to Monday
        case "month":
            let (y, m, _) = Timestamp.civilFromDays(day)
            day = Timestamp.daysFromCivil(year: y, month: m, day: 1)
        default: throw .badRequest("interval", "\"\(interval.prefix(20))\" is not one of day, week, month")
        }
        while calendar.startOfDay(day) < to {
            starts.append(max(from, calendar.startOfDay(day)))
            guard starts.count <= 62 else { throw .badRequest("interval", "more than 62 periods: choose a longer interval or a shorter span") }
            switch interval {
            case "day": day += 1
            case "week": day += 7
            default:
                let (y, m, _) = Timestamp.civilFromDays(day)
                day = Timestamp.daysFromCivil(year: m == 12 ? y + 1 : y, month: m == 12 ? 1 : m + 1, day: 1)
            }
        }
        var periods: [JSONValue] = []
        for (i, start) in starts.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1] : to
            periods.append(APIValues.statistics(try await statisticsRows(from: start, to: end, agency: agency, p), classes: [], from: start, to: end))
        }
        return APIValues.response(.object([("interval", .string(interval)), ("from", .time(from)), ("to", .time(to)), ("periods", .array(periods))]))
    }

    /// Server-Sent Events: `alert` (a new alert, as published on MQTT, with its status) and
    /// `status` (an alert's status changed), each `data:` one JSON line with an `id:` (an
    /// `EventCursor`). A client that sends `Last-Event-ID` back (as EventSource does on its own
    /// when it reconnects) first gets every event after it, from the store; without one, the stream
    /// starts now. The live feed only wakes the stream: events are read from the store by the
    /// cursor, so what is sent live and what is caught up are one path. A comment every 15 s keeps
    /// proxies from closing an idle stream.
    func events(_ r: Request, _ c: BasicRequestContext, _ p: Principal) async throws(APIError) -> Response {
        var start: EventCursor?
        if let last = r.headers.first(where: { $0.name.canonicalName == "last-event-id" })?.value, !last.isEmpty {
            guard let cursor = EventCursor(last) else {
                throw .badRequest("Last-Event-ID", "\"\(last.prefix(40))\" is not an event id this server gave (<alerts>-<statuses>)")
            }
            start = cursor
        }
        // Woken by the feed, subscribed before the cursor is read: nothing committed after it is missed.
        let wake = daemon.feed.subscribe()
        let store = self.store
        let from: EventCursor
        if let start { from = start } else { from = try await Self.read { try await store.eventCursor() } }
        let own = p.agencyId
        let registry = self.registry
        let lines = AsyncStream<String> { continuation in
            let pump = Task {
                var cursor = from
                func drain() async -> Bool {
                    while true {
                        guard let page = try? await store.events(after: cursor, agencyId: own) else { return false }
                        let names = page.events.isEmpty ? Names() : ((try? await registry.names()) ?? Names())
                        for (e, at) in page.events { continuation.yield(Self.sse(e, id: at, names: names)) }
                        cursor = page.next
                        if !page.more { return true }
                    }
                }
                guard await drain() else { continuation.finish(); return }
                for await _ in wake {
                    guard await drain() else { break }
                }
                continuation.finish()
            }
            let beat = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(15))
                    continuation.yield(": keepalive\n\n")
                }
            }
            continuation.onTermination = { _ in pump.cancel(); beat.cancel() }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                         body: ResponseBody { writer in
                             try await writer.write(ByteBuffer(string: ": live alerts\n\n"))
                             // A stop ends the stream (the server then drains and closes).
                             for await line in lines.cancelOnGracefulShutdown() { try await writer.write(ByteBuffer(string: line)) }
                             try await writer.finish(nil)
                         })
    }

    static func sse(_ e: StoredEvent, id: EventCursor, names: Names) -> String {
        switch e {
        case .alert(let a): return "id: \(id)\nevent: alert\ndata: \(APIValues.alert(a, names: names).serialized)\n\n"
        case .status(let s, _): return "id: \(id)\nevent: status\ndata: \(APIValues.change(s).serialized)\n\n"
        }
    }
}
