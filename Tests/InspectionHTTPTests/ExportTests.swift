import Foundation
import InspectionCore
@testable import InspectionExports
@testable import InspectionHTTP
import InspectionTestSupport
import Testing

/// Exports for the 执法统计年报 and follow-up (issue 26 item 5): what is downloaded, read back by
/// real readers (CSV by Python's csv module, XLSX by openpyxl), equals the API's rows.
@Suite struct ExportTests {
    /// Downloads `path` with curl (the body is bytes, not text) and reads it with Python: the
    /// rows as JSON (`reader`: csv or xlsx), and the response headers.
    static func download(_ w: APIWorld, _ path: String, accept: String? = nil, table: Bool = true) throws -> (rows: [[String]], headers: String, bytes: [UInt8]) {
        let file = w.dir.appendingPathComponent("download-\(UUID().uuidString)")
        let headers = file.path + ".headers"
        var args = ["-s", "-D", headers, "-o", file.path, "-H", "Authorization: Bearer \(APIWorld.supervisor)"]
        if let accept { args += ["-H", "Accept: \(accept)"] }
        #expect(try run("/usr/bin/curl", args + ["http://127.0.0.1:\(w.httpPort)\(path)"]) == 0)
        let bytes = [UInt8](try Data(contentsOf: file))
        let head = try String(contentsOfFile: headers, encoding: .utf8)
        guard table else { return ([], head, bytes) }
        let out = file.path + ".json"
        let script = """
            import csv, json, sys
            path, out = sys.argv[1], sys.argv[2]
            raw = open(path, 'rb').read()
            if raw[:2] == b'PK':
                import io, openpyxl
                ws = openpyxl.load_workbook(io.BytesIO(raw)).active
                rows = [['' if c is None else (str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)) for c in r] for r in ws.iter_rows(values_only=True)]
            else:
                assert raw[:3] == b'\\xef\\xbb\\xbf', 'no byte-order mark'
                rows = list(csv.reader(raw[3:].decode('utf-8').splitlines()))
            json.dump(rows, open(out, 'w'), ensure_ascii=False)
            """
        let log = file.path + ".log"
        var status: Int32 = 0
        waitpid(try spawn("/usr/bin/env", ["python3", "-c", script, file.path, out], stdout: log), &status, 0)
        #expect(status == 0, "python could not read \(path): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let rows = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [[String]]) ?? []
        return (rows, head, bytes)
    }

    @Test func alertsVisitsAndStatisticsDownloadedEqualTheAPIsRows() throws {
        let w = try APIWorld()
        try w.publishStays()
        #expect(eventually(20) { (w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["total"] as? Int) == 1 })
        let alerts = w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["alerts"] as? [[String: Any]] ?? []

        for format in ["csv", "xlsx"] {
            let got = try Self.download(w, "/api/v1/alerts?format=\(format)")
            #expect(got.rows.first?.prefix(5) == ["告警编号", "类型", "严重程度", "时间", "状态"])
            #expect(got.rows.count == alerts.count + 1)
            let row = try #require(got.rows.dropFirst().first)
            #expect(row[0] == alerts[0]["alert_id"] as? String)
            #expect(row[1] == "无任务入企" && row[2] == "高" && row[4] == "待处理")
            #expect(row[3] == "2026-03-10 10:05:00")  // local time (the visit opened 5 minutes after 10:00)
            #expect(row[6] == "Plant one" && row[7] == "Market")  // names, the codes further on
            #expect(row[11] == "unregistered_visit" && row[13] == "A1")
            #expect(got.headers.contains("attachment; filename=\"alerts-"))
        }
        // The Accept header chooses too; an unknown format is 400 naming it.
        #expect(try Self.download(w, "/api/v1/alerts", accept: "text/csv").rows.first?.first == "告警编号")
        let bad = w.call("GET", "/api/v1/alerts?format=pdf", token: APIWorld.supervisor)
        #expect(bad.status == 400 && (bad.json["error"] as? [String: Any])?["field"] as? String == "format")
        #expect(w.call("GET", "/api/v1/stats?format=geojson", token: APIWorld.supervisor).status == 400)

        // Visits: as a table and as GeoJSON with each track, [lon, lat].
        let visits = w.call("GET", "/api/v1/visits", token: APIWorld.supervisor).json["visits"] as? [[String: Any]] ?? []
        let table = try Self.download(w, "/api/v1/visits?format=xlsx")
        #expect(Set(table.rows.dropFirst().map { $0[0] }) == Set(visits.compactMap { $0["visit_id"] as? String }))
        #expect(table.rows.dropFirst().map { $0[8] }.sorted() == visits.compactMap { ($0["points"] as? Int).map(String.init) }.sorted())
        let geo = try #require(try JSONSerialization.jsonObject(with: Data(Self.download(w, "/api/v1/visits?format=geojson", table: false).bytes)) as? [String: Any])
        let features = geo["features"] as? [[String: Any]] ?? []
        #expect(features.count == visits.count)
        for f in features {
            let props = f["properties"] as? [String: Any] ?? [:]
            let line = (f["geometry"] as? [String: Any])?["coordinates"] as? [[Double]] ?? []
            #expect(line.count == props["points"] as? Int)
            #expect(line.allSatisfy { $0[0] > 121 && $0[1] < 32 })  // lon first
        }

        // Statistics for the day: the API's figures, one row per agency and one for all.
        let stats = w.call("GET", "/api/v1/stats?from=2026-03-10&to=2026-03-10", token: APIWorld.supervisor).json["rows"] as? [[String: Any]] ?? []
        let sheet = try Self.download(w, "/api/v1/stats?from=2026-03-10&to=2026-03-10&format=csv")
        #expect(sheet.rows.count == stats.count + 1)
        #expect(sheet.rows.dropFirst().map { $0[4] } == stats.map { "\($0["visits"] as? Int ?? -1)" })
        #expect(sheet.rows.dropFirst().contains { $0[0] == "全部" })
        #expect(sheet.rows.dropFirst().contains { $0[0] == "Environment" && $0[7] == "100" })  // 计划检查率: its one occasion had a task
    }

    @Test func csvQuotesWhatMustBeQuotedAndDisarmsFormulas() {
        let t = Table(name: "t", header: ["a", "b"], rows: [[.text("x,\"y\""), .number(2.5)], [.text("=HYPERLINK(\"evil\")"), .int(-3)], [.empty, .text("line\nbreak")]])
        let text = String(decoding: CSVWriter.bytes(t).dropFirst(3), as: UTF8.self)
        #expect(CSVWriter.bytes(t).prefix(3) == [0xEF, 0xBB, 0xBF])
        #expect(text == "a,b\r\n\"x,\"\"y\"\"\",2.5\r\n\"'=HYPERLINK(\"\"evil\"\")\",-3\r\n,\"line\nbreak\"\r\n")
        #expect(XLSXWriter.column(0) == "A" && XLSXWriter.column(25) == "Z" && XLSXWriter.column(26) == "AA" && XLSXWriter.column(701) == "ZZ")
        #expect(XLSXWriter.escape("a<b&\u{1}c") == "a&lt;b&amp;c")
    }
}
