import Foundation
import InspectionMQTT
import Testing

/// A connected publisher, as a tracker gateway is, and the ids of the messages the broker
/// acknowledged.
public func trackerGateway(port: Int32, configure: (inout MQTTSettings) -> Void = { _ in }) throws -> (MQTTClient, Collected<Int32>) {
    var s = MQTTSettings()
    s.port = port
    configure(&s)
    s.clientId = "tracker-gateway-\(UUID().uuidString.prefix(8))"
    s.cleanSession = true
    let acked = Collected<Int32>()
    let connected = Collected<Bool>()
    let client = try MQTTClient(settings: s, onMessage: { _ in }, onEvent: { e in
        if case .published(let mid) = e { acked.append(mid) }
        if e == .connected { connected.append(true) }
    })
    try client.start()
    #expect(eventually { connected.count > 0 }, "the gateway did not connect to 127.0.0.1:\(port)")
    return (client, acked)
}
