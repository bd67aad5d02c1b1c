/// What the office reads (SPEC §4.4, §2): each code's Chinese name, one table for the API,
/// exports and the page.
extension AlertKind {
    public var chineseName: String {
        switch self {
        case .unregisteredVisit: return "无任务入企"
        case .unannouncedVisit: return "未预告"
        case .repeatedInspection: return "重复检查"
        case .multiAgencyInspection: return "多头检查"
        case .highFrequency: return "高频次检查"
        case .outOfJurisdiction: return "异地执法"
        case .trackerSilent: return "定位中断"
        case .unscannedVisit: return "未亮码"
        }
    }
}

extension Severity {
    public var chineseName: String {
        switch self {
        case .low: return "低"
        case .medium: return "中"
        case .high: return "高"
        case .critical: return "严重"
        }
    }
}

extension TaskKind {
    public var chineseName: String {
        switch self {
        case .planned: return "计划检查"
        case .joint: return "联合检查"
        case .special: return "专项检查"
        case .complaint: return "投诉举报"
        case .referral: return "转办交办"
        case .monitoring: return "数据监测"
        case .requested: return "企业申请"
        case .emergency: return "应急处置"
        case .service: return "入企服务"
        }
    }
}

extension LocalCalendar {
    /// An instant as a Chinese office writes it, in local time: `2026-03-10 10:05:00`.
    public func localText(_ ms: Millis) -> String {
        let local = ms + offsetMs(at: ms)
        let day = Int(local >= 0 ? local / Timestamp.msPerDay : (local - Timestamp.msPerDay + 1) / Timestamp.msPerDay)
        let (y, mo, d) = Timestamp.civilFromDays(day)
        let s = Int((local - Millis(day) * Timestamp.msPerDay) / 1000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(mo))-\(two(d)) \(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }
}
