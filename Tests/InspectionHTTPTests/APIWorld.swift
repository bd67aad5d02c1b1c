import Foundation
import InspectionCore
import InspectionMQTT
import InspectionTestSupport
import Testing

/// Two circle sites 2 km apart; A1 (jurisdiction R1) drives V1 to S1 with no task, A2 drives V2
/// to S2 under an announced task from the file.
final class APIWorld {
    static var executable: String { SharedData.repoRoot.appendingPathComponent(".build/debug/inspection-watch").path }
    static let supervisor = "office-token-0123456789"
    static let readonly = "readonly-token-0123456789"
    static let agencyA1 = "agency-a1-token-0123456789"
    static let agencyA2 = "agency-a2-token-0123456789"

    /// 2026-03-10 10:00 local (02:00 UTC): both vehicles stay 10 minutes at their sites.
    static let t0: Millis = 1_773_108_000_000
    static let tasksHeader = "task_id,agency_id,partner_agency_ids,enterprise_id,site_id,kind,start,end,announced_at,cross_region,status\n"
    static let fileTask = "T-FILE-1,A2,,E2,,planned,2026-03-10,2026-03-10,2026-03-07T09:00:00+08:00,,\n"

    let dir: URL
    let registry: URL
    let broker: TestBroker
    let httpPort: Int32
    let config: URL
    var pid: pid_t = 0
    /// Set for the daemon besides this process's environment (systemd's `NOTIFY_SOCKET`).
    let environment: [String: String]

    /// `http`: more settings of the `http` section (one per line, as YAML under it).
    init(environment: [String: String] = [:], http: [String] = []) throws {
        self.environment = environment
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("api-\(UUID().uuidString)")
        registry = dir.appendingPathComponent("registry")
        broker = try TestBroker()
        httpPort = try TestBroker.freePort()
        let sites: [String: Any] = ["type": "FeatureCollection", "features": [
            ["type": "Feature", "geometry": ["type": "Point", "coordinates": [121.4700, 31.2300]],
             "properties": ["site_id": "S1", "enterprise_id": "E1", "name": "Plant one", "region": "R1", "radius_m": 60]],
            ["type": "Feature", "geometry": ["type": "Point", "coordinates": [121.4900, 31.2300]],
             "properties": ["site_id": "S2", "enterprise_id": "E2", "name": "Plant two", "region": "R2", "radius_m": 60]],
        ]]
        try SharedData.writeRegistry(to: registry, sites: sites,
                                     agencies: "agency_id,name,jurisdiction\nA1,Market,R1\nA2,Environment,*\n",
                                     vehicles: "vehicle_id,agency_id,plate\nV1,A1,\nV2,A2,\n",
                                     tasks: APIWorld.tasksHeader + APIWorld.fileTask)
        config = dir.appendingPathComponent("config.yaml")
        try Data("""
            registry: { dir: \(registry.path) }
            mqtt:
              port: \(broker.port)
              client_id: api-daemon
            store: { path: \(dir.appendingPathComponent("store.sqlite").path), checkpoint_interval: 1s }
            http:
              port: \(httpPort)
            \(http.map { "  " + $0 + "\n" }.joined())
              tokens:
                - { name: office, role: supervisor, token: \(APIWorld.supervisor) }
                - { name: viewer, role: readonly, token: \(APIWorld.readonly) }
                - { name: market-bureau, role: agency, agency_id: A1, token: \(APIWorld.agencyA1) }
                - { name: environment-bureau, role: agency, agency_id: A2, token: \(APIWorld.agencyA2) }
            """.utf8).write(to: config)
        try start()
    }

    /// Starts the daemon and waits for `/health` to say 200 (`healthy`), or to answer at all.
    func start(healthy: Bool = true) throws {
        pid = try spawn(APIWorld.executable, ["serve", "--config", config.path],
                        stdout: dir.appendingPathComponent("daemon-\(Date().timeIntervalSince1970).log").path, environment: environment)
        #expect(eventually(20) { (httpGet(port: self.httpPort, "/health")?.status).map { healthy ? $0 == 200 : $0 > 0 } ?? false },
                "daemon did not come up")
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    deinit { stop(); broker.stop() }

    /// Both stays, published as the trackers would (native format, QoS 1).
    func publishStays() throws {
        let (client, acked) = try trackerGateway(port: broker.port)
        var sent = 0
        for (vehicle, lon) in [("V1", 121.4700), ("V2", 121.4900)] {
            // 10 minutes at the site, then 1 km away.
            for i in 0...20 {
                try send(client, vehicle, APIWorld.t0 + Millis(i) * 30_000, 31.2300 + Double(i % 3) * 0.00001, lon)
                sent += 1
            }
            try send(client, vehicle, APIWorld.t0 + 21 * 30_000 + 120_000, 31.2400, lon)
            try send(client, vehicle, APIWorld.t0 + 21 * 30_000 + 300_000, 31.2400, lon)
            sent += 2
        }
        #expect(eventually(20) { acked.count == sent })
        client.stop()
    }

    func send(_ client: MQTTClient, _ vehicle: String, _ ts: Millis, _ lat: Double, _ lon: Double) throws {
        var topic: [UInt8] = [], payload: [UInt8] = []
        PayloadEncoder.encode(.native, vehicle: vehicle, ts: ts, lat: lat, lon: lon, topic: &topic, payload: &payload)
        try client.publish(topic: topic, payload: payload, qos: 1)
    }

    func call(_ method: String, _ path: String, token: String?, _ body: String? = nil) -> (status: Int, json: [String: Any]) {
        guard let r = httpRequest(port: httpPort, method, path, token: token, body: body) else { return (0, [:]) }
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
        return (r.status, json)
    }
}

