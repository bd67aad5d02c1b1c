import Foundation
import InspectionCore
import Yams

/// The product's one configuration file (YAML). Every setting has SPEC's default, so an empty
/// file is a valid configuration; `Config/inspection-watch.yaml` lists them all, commented.
public struct Configuration: Sendable, Equatable {
    public var engine = EngineSettings()
    /// Where `serve` and `import` read the registry files.
    public var registryDir: String?
    public var coordinates: CoordinateSystem = .wgs84
    /// `registry.bounds`: where every site must lie (nil: anywhere).
    public var registryBounds: GeoBox?
    public var daemon = DaemonSettings()

    public init() {}

    /// `environment`: where `$CREDENTIALS_DIRECTORY` and `INSPECTIONWATCH_MQTT_PASSWORD` come from.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Configuration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigError(file: path, line: nil, setting: "", message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, environment: environment)
    }

    public static func parse(_ text: String, file: String = "config", environment: [String: String] = [:]) throws(ConfigError) -> Configuration {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError(file: file, line: nil, setting: "", message: "not valid YAML: \(error)")
        }
        if let root, case .scalar(let s) = root, !s.string.isEmpty {
            throw ConfigError(file: file, line: root.mark?.line, setting: "", message: "must be a mapping of settings")
        }
        var top = ConfigReader(file: file, path: "", node: root)
        var c = Configuration()

        if let tz = try top.string("time_zone") {
            guard let cal = LocalCalendar(identifier: tz) else {
                throw top.fail("time_zone", "\"\(tz)\" is not a known time zone (e.g. Asia/Shanghai)")
            }
            c.engine.calendar = cal
        }

        var registry = try top.section("registry")
        c.registryDir = try registry.string("dir")
        if let cs = try registry.string("coordinates") {
            guard let v = CoordinateSystem(rawValue: cs.lowercased()) else {
                throw registry.fail("coordinates", "\"\(cs)\" is not one of wgs84, gcj02, bd09")
            }
            c.coordinates = v
        }
        if let b = try registry.numbers("bounds") {
            guard b.count == 4, b[0] < b[2], b[1] < b[3], b[0] >= -180, b[2] <= 180, b[1] >= -90, b[3] <= 90 else {
                throw registry.fail("bounds", "must be [min_lon, min_lat, max_lon, max_lat] (WGS 84, as a GeoJSON bbox), each min below its max")
            }
            c.registryBounds = GeoBox(minLat: b[1], minLon: b[0], maxLat: b[3], maxLon: b[2])
        }
        try registry.rejectUnknown()

        var visits = try top.section("visits")
        if let v = try visits.double("site_margin_m", min: 0, max: 1000) { c.engine.siteMarginM = v }
        if let v = try visits.duration("exit_grace") { c.engine.exitGrace = v }
        if let v = try visits.duration("max_gap") { c.engine.maxGap = v }
        if let v = try visits.duration("min_dwell") { c.engine.minDwell = v }
        try visits.rejectUnknown()

        var input = try top.section("input")
        if let v = try input.double("max_speed_kmh", min: 1) { c.engine.maxSpeedKmh = v }
        if let v = try input.int("reanchor_fixes", min: 1, max: 100) { c.engine.reanchorFixes = v }
        if let v = try input.duration("max_future") { c.engine.maxFuture = v }
        if let v = try input.duration("late_horizon") { c.engine.lateHorizon = v }
        try input.rejectUnknown()

        var rules = try top.section("rules")
        if let v = try rules.duration("task_slack") { c.engine.taskSlack = v }
        if let v = try rules.duration("announce_lead") { c.engine.announceLead = v }
        if let v = try rules.duration("repeat_window") { c.engine.repeatWindow = v }
        if let v = try rules.duration("multi_agency_window") { c.engine.multiAgencyWindow = v }
        if let v = try rules.int("multi_agency_threshold", min: 2) { c.engine.multiAgencyThreshold = v }
        if let v = try rules.int("annual_cap", min: 0) { c.engine.annualCap = v }
        if let v = try rules.int("reasonable_cap", min: 0) { c.engine.reasonableCap = v }
        var caps = try rules.section("class_caps")
        for (riskClass, _) in caps.keys {
            guard let cap = try caps.int(riskClass, min: 0) else { continue }
            c.engine.classCaps[riskClass] = cap
        }
        if let v = try rules.duration("silent_gap") { c.engine.silentGap = v }
        if let v = try rules.double("silent_radius_m", min: 0, max: 10_000) { c.engine.silentRadiusM = v }
        if let v = try rules.duration("scan_slack") { c.engine.scanSlack = v }
        if let v = try rules.duration("scan_wait") { c.engine.scanWait = v }
        try rules.rejectUnknown()

        var kinds = try top.section("kinds")
        for kind in TaskKind.allCases {
            var k = try kinds.section(kind.rawValue)
            var policy = c.engine.policy(kind)
            if let v = try k.bool("announcement_required") { policy.announcementRequired = v }
            if let v = try k.bool("counts_towards_cap") { policy.countsTowardsCap = v }
            try k.rejectUnknown()
            c.engine.kinds[kind] = policy
        }
        try kinds.rejectUnknown()

        var severity = try top.section("severity")
        for kind in AlertKind.allCases {
            if let s = try severity.string(kind.rawValue) {
                guard let v = Severity(rawValue: s.lowercased()) else {
                    throw severity.fail(kind.rawValue, "\"\(s)\" is not one of " + Severity.allCases.map(\.rawValue).joined(separator: ", "))
                }
                c.engine.severities[kind] = v
            }
        }
        try severity.rejectUnknown()

        var mqtt = try top.section("mqtt")
        if let v = try mqtt.string("host") { c.daemon.host = v }
        if let v = try mqtt.int("port", min: 1, max: 65535) { c.daemon.port = v }
        if let v = try mqtt.string("client_id") {
            guard !v.isEmpty else { throw mqtt.fail("client_id", "must not be empty: the broker keeps the session by it") }
            c.daemon.clientId = v
        }
        c.daemon.username = try mqtt.string("username")
        // Secrets outside the file the unit makes world-readable: a file, a systemd credential,
        // or the environment.
        c.daemon.password = try mqtt.secret("password", environment: environment) ?? environment["INSPECTIONWATCH_MQTT_PASSWORD"]
        c.daemon.caFile = try mqtt.string("ca_file")
        c.daemon.certFile = try mqtt.string("cert_file")
        c.daemon.keyFile = try mqtt.string("key_file")
        if (c.daemon.certFile == nil) != (c.daemon.keyFile == nil) {
            throw mqtt.fail(c.daemon.certFile == nil ? "cert_file" : "key_file", "cert_file and key_file go together")
        }
        if let v = try mqtt.string("alert_topic_prefix") { c.daemon.alertTopicPrefix = v }
        if let v = try mqtt.bool("publish_visits") { c.daemon.publishVisits = v }
        if let subs = try mqtt.list("subscriptions") {
            c.daemon.subscriptions = []
            for (i, var s) in subs.enumerated() {
                guard let filter = try s.string("filter"), !filter.isEmpty else { throw s.fail("filter", "required") }
                let formatText = try s.string("format") ?? "native"
                try s.rejectUnknown()
                if formatText == "scan" {
                    c.daemon.subscriptions.append(.scans(filter: filter))
                    continue
                }
                guard let format = PayloadFormat(rawValue: formatText) else {
                    throw s.fail("format", "\"\(formatText)\" is not one of native, owntracks, jt808, scan")
                }
                c.daemon.subscriptions.append(DaemonSettings.Subscription(filter: filter, format: format))
                _ = i
            }
            if c.daemon.subscriptions.isEmpty { throw mqtt.fail("subscriptions", "at least one is needed") }
        }
        try mqtt.rejectUnknown()

        var scans = try top.section("scans")
        if let v = try scans.bool("enabled") { c.daemon.scansJudged = v }
        try scans.rejectUnknown()

        var http = try top.section("http")
        if let v = try http.string("host") { c.daemon.httpHost = v }
        if let v = try http.int("port", min: 0, max: 65535) { c.daemon.httpPort = v }
        if let v = try http.duration("idle_timeout") {
            guard v >= 1000 else { throw http.fail("idle_timeout", "at least 1s") }
            c.daemon.httpIdleTimeout = v
        }
        if let v = try http.int("max_connections", min: 1, max: 100_000) { c.daemon.httpMaxConnections = v }
        if let v = try http.string("tiles") { c.daemon.tileURL = v.isEmpty ? nil : v }
        if let v = try http.string("leaflet_dir") { c.daemon.leafletDir = v }
        if let v = try http.string("base_map") { c.daemon.baseMap = v.isEmpty ? nil : v }
        if let list = try http.list("tokens") {
            var seen = Set<String>()
            for var t in list {
                guard let name = try t.string("name"), !name.isEmpty else { throw t.fail("name", "required: it is recorded with every change") }
                guard let roleText = try t.string("role") else { throw t.fail("role", "required") }
                guard let role = APIToken.Role(rawValue: roleText) else {
                    throw t.fail("role", "\"\(roleText)\" is not one of " + APIToken.Role.allCases.map(\.rawValue).joined(separator: ", "))
                }
                guard let token = try t.secret("token", environment: environment), token.utf8.count >= 16 else {
                    throw t.fail("token", "required, at least 16 characters")
                }
                guard seen.insert(token).inserted else { throw t.fail("token", "the same token is given twice") }
                let agency = try t.string("agency_id")
                if role == .agency && (agency ?? "").isEmpty { throw t.fail("agency_id", "required for role agency") }
                if role != .agency && agency != nil { throw t.fail("agency_id", "only for role agency") }
                try t.rejectUnknown()
                c.daemon.apiTokens.append(APIToken(name: name, role: role, agencyId: agency, token: token))
            }
        }
        try http.rejectUnknown()

        var store = try top.section("store")
        if let v = try store.string("path") { c.daemon.storePath = v }
        if let v = try store.duration("checkpoint_interval") {
            guard v >= 1000 else { throw store.fail("checkpoint_interval", "must be at least 1s") }
            c.daemon.checkpointInterval = v
        }
        if let v = try store.int("queue_capacity", min: 1000, max: 100_000_000) { c.daemon.queueCapacity = v }
        try store.rejectUnknown()

        try top.rejectUnknown()
        return c
    }
}
