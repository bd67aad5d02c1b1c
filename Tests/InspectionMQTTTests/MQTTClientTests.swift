import Foundation
import InspectionMQTT
import InspectionTestSupport
import Testing

/// The libmosquitto wrapper against a real broker started by each test.
@Suite(.serialized) struct MQTTClientTests {
    func settings(_ broker: TestBroker, id: String) -> MQTTSettings {
        var s = MQTTSettings()
        s.port = broker.port
        s.clientId = id
        s.reconnectMinSeconds = 1
        s.reconnectMaxSeconds = 2
        return s
    }

    @Test func topicsMatchFiltersByTheLibrarysRules() {
        #expect(MQTTClient.topic("vehicles/v1/position", matches: "vehicles/+/position"))
        #expect(!MQTTClient.topic("vehicles/v1/speed", matches: "vehicles/+/position"))
        #expect(MQTTClient.topic("owntracks/a/b", matches: "owntracks/#"))
        #expect(MQTTClient.topic("owntracks", matches: "owntracks/#"))
        #expect(!MQTTClient.topic("jt808/a/b/down", matches: "jt808/+/+/up"))
    }

    @Test func publishesAndReceivesAtQoS1() throws {
        let broker = try TestBroker()
        let got = Collected<MQTTMessage>()
        let events = Collected<MQTTEvent>()
        let sub = try MQTTClient(settings: settings(broker, id: "sub-1"), onMessage: { got.append($0) }, onEvent: { events.append($0) })
        try sub.subscribe("vehicles/+/position")
        try sub.start()
        #expect(eventually { events.all.contains(.connected) })
        let pubEvents = Collected<MQTTEvent>()
        let pub = try MQTTClient(settings: settings(broker, id: "pub-1"), onMessage: { _ in }, onEvent: { pubEvents.append($0) })
        try pub.start()
        #expect(eventually { pubEvents.all.contains(.connected) })
        usleep(200_000)  // the subscription is in place before publishing
        let payload = Array(#"{"vehicle":"v1","ts":1750123456,"lat":30.17,"lon":121.26}"#.utf8)
        let mid = try pub.publish(topic: "vehicles/v1/position", payload: payload, qos: 1)
        #expect(eventually { got.count == 1 })
        #expect(got.all.first?.topic == "vehicles/v1/position")
        #expect(got.all.first?.payload == payload)
        #expect(got.all.first?.qos == 1)
        #expect(eventually { pubEvents.all.contains(.published(mid)) })
    }

    @Test func aKeptSessionReceivesWhatWasPublishedWhileAway() throws {
        let broker = try TestBroker()
        let events = Collected<MQTTEvent>()
        do {
            let sub = try MQTTClient(settings: settings(broker, id: "fleet-sub"), onMessage: { _ in }, onEvent: { events.append($0) })
            try sub.subscribe("vehicles/+/position", qos: 1)
            try sub.start()
            #expect(eventually { events.all.contains(.connected) })
            usleep(200_000)
            sub.stop()
        }
        let pubEvents = Collected<MQTTEvent>()
        let pub = try MQTTClient(settings: settings(broker, id: "fleet-pub"), onMessage: { _ in }, onEvent: { pubEvents.append($0) })
        try pub.start()
        #expect(eventually { pubEvents.all.contains(.connected) })
        for k in 0..<200 { try pub.publish(topic: "vehicles/v\(k % 7)/position", payload: Array("\(k)".utf8), qos: 1) }
        #expect(eventually { pubEvents.all.filter { if case .published = $0 { true } else { false } }.count == 200 })
        let got = Collected<MQTTMessage>()
        let back = try MQTTClient(settings: settings(broker, id: "fleet-sub"), onMessage: { got.append($0) })
        try back.subscribe("vehicles/+/position", qos: 1)
        try back.start()
        #expect(eventually { got.count == 200 })
        #expect(Set(got.all.map { String(decoding: $0.payload, as: UTF8.self) }) == Set((0..<200).map(String.init)))
    }

    @Test func reconnectsByItselfWhenTheBrokerRestarts() throws {
        let broker = try TestBroker()
        let events = Collected<MQTTEvent>()
        let got = Collected<MQTTMessage>()
        let sub = try MQTTClient(settings: settings(broker, id: "resilient"), onMessage: { got.append($0) }, onEvent: { events.append($0) })
        try sub.subscribe("t/#")
        try sub.start()
        #expect(eventually { events.all.filter { $0 == .connected }.count == 1 })
        try broker.restart()
        #expect(eventually(15) { events.all.filter { $0 == .connected }.count == 2 })
        #expect(events.all.contains { if case .disconnected = $0 { true } else { false } })
        let pubEvents = Collected<MQTTEvent>()
        let pub = try MQTTClient(settings: settings(broker, id: "pub-after"), onMessage: { _ in }, onEvent: { pubEvents.append($0) })
        try pub.start()
        #expect(eventually { pubEvents.all.contains(.connected) })
        try pub.publish(topic: "t/after", payload: [1, 2, 3])
        #expect(eventually { got.count == 1 })
    }

    @Test func aWrongPasswordIsRefusedWithAReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("passwd")
        #expect(try run("/usr/bin/mosquitto_passwd", ["-c", "-b", file.path, "daemon", "s3cret"]) == 0)
        let broker = try TestBroker(extraConfig: "allow_anonymous false\npassword_file \(file.path)\n")
        var wrong = settings(broker, id: "intruder")
        wrong.username = "daemon"
        wrong.password = "guess"
        let events = Collected<MQTTEvent>()
        let bad = try MQTTClient(settings: wrong, onMessage: { _ in }, onEvent: { events.append($0) })
        try bad.start()
        #expect(eventually { events.all.contains { if case .refused = $0 { true } else { false } } })
        bad.stop()
        var right = wrong
        right.clientId = "daemon"
        right.password = "s3cret"
        let goodEvents = Collected<MQTTEvent>()
        let good = try MQTTClient(settings: right, onMessage: { _ in }, onEvent: { goodEvents.append($0) })
        try good.start()
        #expect(eventually { goodEvents.all.contains(.connected) })
    }
}
