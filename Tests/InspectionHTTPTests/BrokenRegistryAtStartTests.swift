import Foundation
import InspectionTestSupport
import Testing

/// SPEC §6 and issue 28: a registry folder broken while the daemon was down does not keep it
/// from starting when the store holds a registry (with `Restart=on-failure`, a bad edit and any
/// restart would be a crash loop): the store's registry is served, and the problem is said in
/// the log, `/health` and `/metrics` until a reload takes a good folder.
@Suite struct BrokenRegistryAtStartTests {
    @Test func aBrokenFolderAtStartIsSaidAndTheStoresRegistryServed() throws {
        let w = try APIWorld()
        #expect(httpGet(port: w.httpPort, "/metrics")?.body.contains("iw_registry_dir_valid 1") == true)
        w.stop()
        let tasks = w.registry.appendingPathComponent("tasks.csv")
        try Data("task_id,agency_id\nT-BAD,A1\n".utf8).write(to: tasks)
        try w.start(healthy: false)
        let health = httpGet(port: w.httpPort, "/health")
        #expect(health?.status == 503)
        #expect(health?.body.contains("tasks.csv") == true && health?.body.contains("serving the registry the store holds") == true,
                "\(health?.body ?? "")")
        #expect(httpGet(port: w.httpPort, "/metrics")?.body.contains("iw_registry_dir_valid 0") == true)
        // Served meanwhile: the stored task is there, and positions are processed under it.
        let listed = w.call("GET", "/api/v1/tasks", token: APIWorld.supervisor).json["tasks"] as? [[String: Any]]
        #expect(listed?.map { $0["task_id"] as? String } == ["T-FILE-1"])
        try w.publishStays()
        #expect(eventually(20) {
            (w.call("GET", "/api/v1/visits", token: APIWorld.supervisor).json["visits"] as? [Any])?.count == 2
        })
        // Fixed and reloaded: healthy again.
        try Data((APIWorld.tasksHeader + APIWorld.fileTask).utf8).write(to: tasks)
        kill(w.pid, SIGHUP)
        #expect(eventually(20) { httpGet(port: w.httpPort, "/health")?.status == 200 })
        #expect(httpGet(port: w.httpPort, "/metrics")?.body.contains("iw_registry_dir_valid 1") == true)
    }
}
