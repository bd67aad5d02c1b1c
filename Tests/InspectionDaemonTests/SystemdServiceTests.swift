@testable import InspectionDaemon
import Testing

/// What `SystemdService` decides, with plain values: when the watchdog is fed, what `STATUS=` says.
@Suite struct SystemdServiceTests {
    @Test func theWatchdogIsFedOnlyWhileTheEngineBeats() {
        // Half of a 10 s watchdog: fed while the loop beat less than 10 s ago.
        #expect(SystemdService.feedsWatchdog(now: 100, lastBeat: 99, interval: 5))
        #expect(SystemdService.feedsWatchdog(now: 100, lastBeat: 90.5, interval: 5))
        #expect(!SystemdService.feedsWatchdog(now: 100, lastBeat: 90, interval: 5))
        #expect(!SystemdService.feedsWatchdog(now: 100, lastBeat: nil, interval: 5))
    }

    @Test func theStatusLineSaysTheBrokerWhatWaitsAndWhatFails() {
        let fine = SystemdService.status(health: ["mqtt": "connected", "ingest_queue": "3", "outbox_unpublished": "0", "store": "ok", "lag_s": "0.2"],
                                         openAlerts: 12, alertsToday: 30)
        #expect(fine == "MQTT 已连接 · 延迟 0.2 s · 待处理消息 3 · 待发布告警 0 · 今日告警 30 · 未处理告警 12")
        let failing = SystemdService.status(health: ["mqtt": "disconnected", "ingest_queue": "0", "outbox_unpublished": "7",
                                                     "store": "disk I/O error", "journal": "No space left on device"], openAlerts: nil)
        #expect(failing == "MQTT 未连接 · 待处理消息 0 · 待发布告警 7 · 故障 journal: No space left on device · 故障 store: disk I/O error")
    }
}
