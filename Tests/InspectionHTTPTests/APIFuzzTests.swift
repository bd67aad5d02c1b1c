import Foundation
import InspectionTestSupport
import Testing

/// The API fuzzed by schemathesis (PyPI) against its own OpenAPI document, as the supervisor and as
/// an agency: no 5xx, every response as documented (status code and schema). The live stream
/// never ends, so it is left out; everything else is generated from the document.
@Suite(.serialized) struct APIFuzzTests {
    @Test(arguments: [("supervisor", APIWorld.supervisor), ("agency", APIWorld.agencyA1)])
    func schemathesisFindsNoServerErrorAndNoSchemaViolation(role: String, token: String) throws {
        let w = try APIWorld()
        try w.publishStays()
        #expect(eventually(20) { (w.call("GET", "/api/v1/alerts", token: APIWorld.supervisor).json["total"] as? Int) == 1 })
        let examples = ProcessInfo.processInfo.environment["INSPECTIONWATCH_FUZZ_EXAMPLES"] ?? "40"
        let log = w.dir.appendingPathComponent("schemathesis-\(role).log").path
        let status = try run("/usr/bin/env", [
            "sh", "-c",
            "schemathesis run http://127.0.0.1:\(w.httpPort)/api/v1/openapi.yaml"
                + " --url http://127.0.0.1:\(w.httpPort) -H 'Authorization: Bearer \(token)'"
                + " --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
                + " --exclude-path /api/v1/events --max-examples \(examples) --seed 20261127 --workers 1"
                + " --suppress-health-check all --no-color > \(log) 2>&1",
        ])
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "schemathesis as \(role):\n\(output.suffix(6000))")
        #expect(output.contains("passed"), "\(output.suffix(2000))")
        // The daemon is still there and still right.
        #expect(httpGet(port: w.httpPort, "/health")?.status == 200)
    }
}
