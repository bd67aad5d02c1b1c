/// Task kinds of SPEC §4.3.
public enum TaskKind: String, Sendable, CaseIterable, Hashable {
    case planned, joint, special, complaint, referral, monitoring, requested, emergency, service
}

/// What a task kind implies for the rules; every property is a setting (defaults from SPEC §4.3).
public struct KindPolicy: Sendable, Equatable {
    public var announcementRequired: Bool
    public var countsTowardsCap: Bool

    public init(announcementRequired: Bool, countsTowardsCap: Bool) {
        self.announcementRequired = announcementRequired
        self.countsTowardsCap = countsTowardsCap
    }

    public static func defaultPolicy(_ kind: TaskKind) -> KindPolicy {
        switch kind {
        case .planned, .joint: return KindPolicy(announcementRequired: true, countsTowardsCap: true)
        case .special: return KindPolicy(announcementRequired: false, countsTowardsCap: true)
        case .complaint, .referral, .monitoring, .requested, .emergency, .service:
            return KindPolicy(announcementRequired: false, countsTowardsCap: false)
        }
    }
}

/// Alert kinds of SPEC §4.4, in the order the summary lists them.
public enum AlertKind: String, Sendable, CaseIterable, Hashable, Comparable {
    case unregisteredVisit = "unregistered_visit"
    case unannouncedVisit = "unannounced_visit"
    case repeatedInspection = "repeated_inspection"
    case multiAgencyInspection = "multi_agency_inspection"
    case highFrequency = "high_frequency"
    case outOfJurisdiction = "out_of_jurisdiction"
    case trackerSilent = "tracker_silent"
    case unscannedVisit = "unscanned_visit"

    public static func < (a: AlertKind, b: AlertKind) -> Bool { a.rawValue < b.rawValue }

    public var defaultSeverity: Severity {
        switch self {
        case .unregisteredVisit, .highFrequency: return .high
        default: return .medium
        }
    }
}

public enum Severity: String, Sendable, CaseIterable, Hashable {
    case low, medium, high, critical
}
