import InspectionCore

/// What the simulator can plant on request (issue "inspection-sim"), each on enterprises of its own
/// so that what it must raise can be written down beforehand and checked.
public enum Behaviour: String, CaseIterable, Sendable {
    /// A planned inspection, registered and announced two days ahead: a visit, no alert.
    case announced
    /// Two agencies on one joint task, the same day: two visits, one occasion, no alert.
    case joint
    /// A planned task never announced: `unannounced_visit`.
    case unannounced
    /// No task at all: `unregistered_visit`.
    case unregistered
    /// The same agency again a week later on a second planned task: `repeated_inspection`.
    case repeated
    /// Two agencies two working days apart, each on its own task: `multi_agency_inspection`.
    case multiAgency = "multi-agency"
    /// The same agency on three planned tasks on three working days: the third is over the annual cap.
    case highFrequency = "high-frequency"
    /// Seven complaint inspections by one agency: none counts, the seventh passes the reasonable cap.
    case exempt
    /// An agency that covers only the west visits a site in the east: `out_of_jurisdiction`.
    case outOfJurisdiction = "out-of-jurisdiction"
    /// A tracker silent 35–60 min while the vehicle stands 40–150 m from a site: `tracker_silent`.
    case dark
    /// Driving past a site on the road beside it: no visit.
    case driveBy = "drive-by"
    /// Three minutes at a light beside a site: no visit.
    case lightWait = "light-wait"
    /// Parked about 10 m outside the site's outline: a visit.
    case gate
    /// Standing 20 m outside the fence with fixes scattered 20 m around: one visit.
    case jitter
    /// Two sites 8–25 m apart, a vehicle in each: a visit at each, none at the other.
    case adjacent
    /// A tracker asleep for 90 minutes inside a site: one visit.
    case asleep
    /// A planned inspection, registered and announced, that the enterprise never scanned:
    /// `unscanned_visit` (only with scans: `--scans`).
    case unscanned

    /// Working days the behaviour spans (from its first).
    var workingDaysNeeded: Int {
        switch self {
        case .repeated: return 6
        case .multiAgency, .highFrequency: return 3
        case .exempt: return 7
        default: return 1
        }
    }

    /// Parses `name=count,name=count` (or `all=N`, `none`).
    public static func parseCounts(_ s: String) throws -> [Behaviour: Int] { try parse(s).counts }

    /// The counts, and the behaviours asked for by name (`all` names none: what fits is planted).
    public static func parse(_ s: String) throws -> (counts: [Behaviour: Int], named: Set<Behaviour>) {
        var out: [Behaviour: Int] = [:]
        var named = Set<Behaviour>()
        if s == "none" || s.isEmpty { return (out, named) }
        for item in s.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1)
            let name = String(kv[0])
            let n = kv.count == 2 ? Int(kv[1]) : 1
            guard let n, n >= 0 else { throw SimError("--plant: \(item): the count is not a whole number ≥ 0") }
            if name == "all" {
                for b in allCases { out[b] = n }
            } else if let b = Behaviour(rawValue: name) {
                out[b] = n
                named.insert(b)
            } else {
                throw SimError("--plant: unknown behaviour \(name) (known: all, \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        return (out, named)
    }
}

/// A planted behaviour as written to `truth/planted.ndjson`: what SPEC §4 must make of it.
public struct PlantedRecord: Sendable, Equatable {
    public var behaviour: Behaviour
    public var enterpriseIds: [String]
    public var siteIds: [String]
    public var vehicleIds: [String]
    /// Visits expected at its sites.
    public var visits: Int
    /// Alert kinds expected at its enterprises, one entry per alert, sorted.
    public var alerts: [AlertKind]

    public var json: JSONValue {
        .object([
            ("behaviour", .string(behaviour.rawValue)),
            ("enterprise_ids", .array(enterpriseIds.map(JSONValue.string))),
            ("site_ids", .array(siteIds.map(JSONValue.string))),
            ("vehicle_ids", .array(vehicleIds.map(JSONValue.string))),
            ("visits", .int(Int64(visits))),
            ("alerts", .array(alerts.map { .string($0.rawValue) })),
        ])
    }
}
