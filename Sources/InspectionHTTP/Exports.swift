import Foundation
import Hummingbird
import InspectionCore
import InspectionExports
import InspectionStore

/// What a list route answers in (issue 26 item 5): JSON for the page, CSV and XLSX for the
/// 执法统计年报 and follow-up, GeoJSON for visits and their tracks. Chosen by `format=` or else by
/// the `Accept` header.
enum ExportFormat: String, CaseIterable {
    case json, csv, xlsx, geojson

    var contentType: String {
        switch self {
        case .json: return "application/json"
        case .csv: return "text/csv"
        case .xlsx: return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .geojson: return "application/geo+json"
        }
    }

    /// The format asked for, among those the route offers (400 naming `format` otherwise).
    static func of(_ r: Request, offered: [ExportFormat]) throws(APIError) -> ExportFormat {
        if let asked = Query(r).string("format") {
            guard let f = ExportFormat(rawValue: asked), offered.contains(f) else {
                throw .badRequest("format", "\"\(asked.prefix(40))\" is not one of \(offered.map(\.rawValue).joined(separator: ", "))")
            }
            return f
        }
        let accept = r.headers[.accept] ?? ""
        for f in offered where f != .json && accept.contains(f.contentType) { return f }
        return .json
    }

    /// The table as a file to download, named after what it holds and today.
    func download(_ t: Table, name: String) throws(APIError) -> Response {
        let bytes: [UInt8]
        switch self {
        case .csv: bytes = CSVWriter.bytes(t)
        case .xlsx:
            do { bytes = try XLSXWriter.bytes(t) } catch { throw APIError(status: .internalServerError, message: error.description) }
        case .json, .geojson: throw APIError(status: .internalServerError, message: "\(rawValue) is not a table format")
        }
        return Self.file(bytes, contentType: contentType + (self == .csv ? "; charset=utf-8; header=present" : ""), name: name + "." + rawValue)
    }

    static func file(_ bytes: [UInt8], contentType: String, name: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType, .contentDisposition: #"attachment; filename="\#(name)""#],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Names for the codes a record holds, from the registry the office loaded.
struct Names: Sendable {
    var agencies: [String: String] = [:]
    var plates: [String: String] = [:]
    var sites: [String: String] = [:]
    /// Each site's centre, [lat, lon] (the middle of its outline's box), for the overview's map.
    var centers: [String: [Double]] = [:]

    func agency(_ id: String?) -> Table.Cell { .optional(id.map { agencies[$0] ?? $0 }) }
    func vehicle(_ id: String) -> Table.Cell { .text(plates[id] ?? id) }
    func site(_ id: String) -> Table.Cell { .text(sites[id] ?? id) }

    /// The names an alert's or a visit's codes have, for the page (Chinese first).
    func json(kind: AlertKind? = nil, status: AlertStatus? = nil, agencyId: String?, siteId: String, vehicleId: String) -> [(String, JSONValue)] {
        var kv: [(String, JSONValue)] = []
        if let kind { kv.append(("kind_name", .string(kind.chineseName))) }
        if let status { kv.append(("status_name", .string(status.chineseName))) }
        kv += [("agency_name", .optional(agencyId.flatMap { agencies[$0] })), ("site_name", .optional(sites[siteId])),
               ("vehicle_name", .optional(plates[vehicleId])),
               ("site_center", centers[siteId].map { .array($0.map(JSONValue.double)) } ?? .null)]
        return kv
    }
}

extension AlertStatus {
    var chineseName: String {
        switch self {
        case .open: return "待处理"
        case .acknowledged: return "已确认"
        case .resolved: return "已处理"
        case .dismissed: return "已排除"
        case .withdrawn: return "已撤回"
        }
    }
}

/// The tables exports are made of: Chinese headers, names beside the codes, local times.
enum ExportTables {
    static func alerts(_ items: [StoredAlert], names: Names, calendar: LocalCalendar) -> Table {
        Table(name: "告警", header: ["告警编号", "类型", "严重程度", "时间", "状态", "企业代码", "场所", "执法部门", "车辆", "到访编号", "任务编号",
                                   "类型代码", "场所编号", "部门代码", "车辆编号"],
              rows: items.map { s in
                  let a = s.record
                  return [.text(a.alertId), .text(a.kind.chineseName), .text(a.severity.chineseName), .text(calendar.localText(a.at)),
                          .text(s.status.chineseName), .text(a.enterpriseId), names.site(a.siteId), names.agency(a.agencyId),
                          names.vehicle(a.vehicleId), .optional(a.visitId), .optional(a.taskId),
                          .text(a.kind.rawValue), .text(a.siteId), .optional(a.agencyId), .text(a.vehicleId)]
              })
    }

    static func visits(_ items: [VisitRecord], names: Names, calendar: LocalCalendar) -> Table {
        Table(name: "入企记录", header: ["到访编号", "执法部门", "车辆", "企业代码", "场所", "开始", "结束", "停留分钟", "定位点数", "任务编号",
                                     "检查次序编号", "部门代码", "车辆编号", "场所编号"],
              rows: items.map { v in
                  [.text(v.visitId), names.agency(v.agencyId), names.vehicle(v.vehicleId), .text(v.enterpriseId), names.site(v.siteId),
                   .text(calendar.localText(v.start)), v.end.map { .text(calendar.localText($0)) } ?? .empty,
                   v.end.map { .number((Double($0 - v.start) / 6_000).rounded() / 10) } ?? .empty, .int(v.points), .optional(v.taskId),
                   .text(v.occasionId), .optional(v.agencyId), .text(v.vehicleId), .text(v.siteId)]
              })
    }

    static func statistics(_ rows: [AgencyStatistics], names: Names, from: Millis, to: Millis, calendar: LocalCalendar) -> Table {
        let kinds = AlertKind.allCases
        return Table(name: "执法统计", header: ["执法部门", "部门代码", "起", "止", "到访次数", "检查次数", "有任务检查次数", "计划检查率%",
                                             "联合检查次数", "联合检查实施率%", "亮码检查次数", "亮码检查率%", "无入企亮码"]
                        + kinds.map { "告警:" + $0.chineseName },
                     rows: rows.map { r in
                         [r.agencyId.map { names.agency($0) } ?? .text("全部"), .optional(r.agencyId),
                          .text(calendar.localText(from)), .text(calendar.localText(to)),
                          .int(r.visits), .int(r.occasions), .int(r.coveredOccasions), .percent(r.plannedShare),
                          .int(r.jointOccasions), .percent(r.jointShare), .int(r.scannedOccasions), .percent(r.scannedShare),
                          .int(r.scansWithoutVisit)] + kinds.map { .int(r.alerts[$0] ?? 0) }
                     })
    }

    /// Visits as GeoJSON (RFC 7946, `[lon, lat]`): each a Feature whose geometry is its track (a
    /// LineString; a Point for one position; none without), its fields and names as properties.
    static func visitsGeoJSON(_ items: [(VisitRecord, [Fix])], names: Names, calendar: LocalCalendar) -> JSONValue {
        func text(_ c: Table.Cell) -> JSONValue { if case .text(let s) = c { return .string(s) } else { return .null } }
        return .object([("type", .string("FeatureCollection")), ("features", .array(items.map { v, track in
            let coordinates = track.map { JSONValue.array([.double($0.lon), .double($0.lat)]) }
            let geometry: JSONValue = track.isEmpty ? .null
                : track.count == 1 ? .object([("type", .string("Point")), ("coordinates", coordinates[0])])
                : .object([("type", .string("LineString")), ("coordinates", .array(coordinates))])
            guard case .object(var props) = v.json else { return .null }
            props += [("agency_name", text(names.agency(v.agencyId))), ("vehicle_name", text(names.vehicle(v.vehicleId))),
                      ("site_name", text(names.site(v.siteId))), ("start_local", .string(calendar.localText(v.start))),
                      ("times", .array(track.map { .time($0.ts) }))]
            return .object([("type", .string("Feature")), ("id", .string(v.visitId)), ("geometry", geometry), ("properties", .object(props))])
        }))])
    }
}
