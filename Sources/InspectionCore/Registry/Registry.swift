/// Ids compare as byte strings wherever an order is needed (SPEC §2).
@inline(__always)
public func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

public struct Site: Sendable, Equatable {
    public var id: String
    public var enterpriseId: String
    public var name: String?
    public var region: String?
    public var riskClass: String?

    public init(id: String, enterpriseId: String, name: String? = nil, region: String? = nil, riskClass: String? = nil) {
        self.id = id; self.enterpriseId = enterpriseId; self.name = name; self.region = region; self.riskClass = riskClass
    }
}

public struct Agency: Sendable, Equatable {
    public enum Jurisdiction: Sendable, Equatable {
        case everywhere
        case regions(Set<String>)

        public func covers(_ region: String) -> Bool {
            switch self {
            case .everywhere: return true
            case .regions(let r): return r.contains(region)
            }
        }
    }

    public var id: String
    public var name: String
    public var jurisdiction: Jurisdiction

    public init(id: String, name: String, jurisdiction: Jurisdiction) {
        self.id = id; self.name = name; self.jurisdiction = jurisdiction
    }
}

public struct Vehicle: Sendable, Equatable {
    public var id: String
    public var agencyId: String
    public var plate: String?

    public init(id: String, agencyId: String, plate: String? = nil) {
        self.id = id; self.agencyId = agencyId; self.plate = plate
    }
}

/// A registered inspection task (检查任务), SPEC §2. Window bounds are inclusive instants.
public struct InspectionTask: Sendable, Equatable {
    public enum Status: String, Sendable { case active, cancelled }

    public var id: String
    public var agencyId: String
    public var partnerAgencyIds: [String]
    public var enterpriseId: String
    public var siteId: String?
    public var kind: TaskKind
    public var start: Millis
    public var end: Millis
    public var announcedAt: Millis?
    public var crossRegion: Bool
    public var status: Status

    public init(id: String, agencyId: String, partnerAgencyIds: [String] = [], enterpriseId: String,
                siteId: String? = nil, kind: TaskKind, start: Millis, end: Millis, announcedAt: Millis? = nil,
                crossRegion: Bool = false, status: Status = .active) {
        self.id = id; self.agencyId = agencyId; self.partnerAgencyIds = partnerAgencyIds
        self.enterpriseId = enterpriseId; self.siteId = siteId; self.kind = kind
        self.start = start; self.end = end; self.announcedAt = announcedAt
        self.crossRegion = crossRegion; self.status = status
    }

    /// The lead agency and the partners.
    public var agencies: [String] { [agencyId] + partnerAgencyIds }

    public func involves(agency: String) -> Bool { agencyId == agency || partnerAgencyIds.contains(agency) }
}

/// The reference data of SPEC §2, validated and indexed. Site numbers (`Int32`) follow `site_id`
/// byte order, so "the lower site_id" is "the lower number".
public struct Registry: Sendable {
    public let sites: [Site]
    public let index: SiteIndex
    public let agencies: [String: Agency]
    public let vehicles: [String: Vehicle]
    public private(set) var tasks: [String: InspectionTask]
    /// Each enterprise's tasks by window start, then `task_id`: the order in which matching picks
    /// a winner (SPEC §4.2), kept so that matching reads them in place.
    public private(set) var tasksByEnterprise: [String: [InspectionTask]]
    public let siteNumbers: [String: Int32]
    /// Problems that did not stop the load (dropped rings, sites without geometry).
    public let warnings: [String]
    /// Each enterprise's risk and credit class (SPEC §4.5): that of its first site, in `site_id`
    /// order, that has one.
    public let enterpriseClasses: [String: String]

    public init(sites: [(Site, SiteGeometry)], agencies: [Agency], vehicles: [Vehicle], tasks: [InspectionTask],
                margin: Double, warnings: [String] = []) {
        let sorted = sites.sorted { byteOrder($0.0.id, $1.0.id) }
        self.sites = sorted.map(\.0)
        self.index = SiteIndex(geometries: sorted.map(\.1), margin: margin)
        var numbers: [String: Int32] = [:]
        for (i, s) in self.sites.enumerated() { numbers[s.id] = Int32(i) }
        self.siteNumbers = numbers
        self.enterpriseClasses = Self.enterpriseClasses(self.sites)
        self.agencies = Dictionary(agencies.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.vehicles = Dictionary(vehicles.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.tasks = [:]
        self.tasksByEnterprise = [:]
        self.warnings = warnings
        for t in tasks { upsert(t) }
    }

    /// Adds or replaces a task (the daemon's API amends tasks while running).
    public mutating func upsert(_ task: InspectionTask) {
        if let old = tasks[task.id] {
            tasksByEnterprise[old.enterpriseId]?.removeAll { $0.id == task.id }
        }
        tasks[task.id] = task
        var list = tasksByEnterprise.removeValue(forKey: task.enterpriseId) ?? []
        let at = list.firstIndex { $0.start > task.start || ($0.start == task.start && byteOrder(task.id, $0.id)) } ?? list.count
        list.insert(task, at: at)
        tasksByEnterprise[task.enterpriseId] = list
    }

    public func site(_ number: Int32) -> Site { sites[Int(number)] }

    /// Each enterprise's class from its sites, given in `site_id` byte order: the first that names one.
    public static func enterpriseClasses(_ sites: [Site]) -> [String: String] {
        var classes: [String: String] = [:]
        for s in sites { if let c = s.riskClass, classes[s.enterpriseId] == nil { classes[s.enterpriseId] = c } }
        return classes
    }

    /// The enterprise's risk and credit class, if any of its sites names one.
    public func riskClass(ofEnterprise e: String) -> String? { enterpriseClasses[e] }

    /// An enterprise's tasks, earliest window first, then by `task_id`.
    public func tasks(ofEnterprise e: String) -> [InspectionTask] { tasksByEnterprise[e] ?? [] }
}
