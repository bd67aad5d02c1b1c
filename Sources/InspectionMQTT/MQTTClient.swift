import CMosquitto
import Foundation

/// How to reach the broker.
public struct MQTTSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port: Int32 = 1883
    /// Fixed, so the broker keeps the session (and the QoS 1 messages) while the client is away.
    public var clientId = "inspection-watch"
    public var cleanSession = false
    public var keepaliveSeconds: Int32 = 30
    public var username: String?
    public var password: String?
    public var tls: TLS?
    public var reconnectMinSeconds: UInt32 = 1
    public var reconnectMaxSeconds: UInt32 = 30
    /// QoS 1/2 messages in flight towards the broker at once (libmosquitto's default is 20).
    public var maxInflight: UInt32 = 1000

    public struct TLS: Sendable, Equatable {
        public var caFile: String
        public var certFile: String?
        public var keyFile: String?
        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile; self.certFile = certFile; self.keyFile = keyFile
        }
    }

    public init() {}
}

/// A libmosquitto failure: the operation, the library's code and its words for it.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public init(operation: String, code: Int32) { self.operation = operation; self.code = code }
    public var description: String {
        "\(operation): \(String(cString: mosquitto_strerror(code))) (code \(code))"
    }
}

/// One message as received.
public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retained: Bool
}

/// One message as libmosquitto holds it, valid only during the callback: a receiver on the hot
/// path copies what it keeps, once, where it keeps it.
public struct MQTTMessageBytes {
    /// NUL-terminated.
    public var topicCString: UnsafePointer<CChar>
    public var topic: UnsafeBufferPointer<UInt8>
    public var payload: UnsafeRawBufferPointer
    public var qos: Int32
    public var retained: Bool

    /// The message copied out.
    public var message: MQTTMessage {
        MQTTMessage(topic: String(decoding: topic, as: UTF8.self), payload: Array(payload), qos: qos, retained: retained)
    }
}

/// What the connection does besides messages.
public enum MQTTEvent: Sendable, Equatable {
    case connected
    /// The broker refused the connection (bad credentials, not authorised …): the reason.
    case refused(String)
    /// The connection dropped; libmosquitto reconnects by itself with backoff.
    case disconnected(String)
    /// The broker acknowledged a QoS 1 publish with this message id.
    case published(Int32)
    /// libmosquitto reported an error it handles itself (a TLS handshake that failed: an unknown
    /// certificate authority, a host name that does not match …): its words.
    case error(String)
}

/// One libmosquitto handle and its network thread.
///
/// Callbacks run on libmosquitto's own thread (`mosquitto_loop_start`), never on Swift's
/// cooperative pool. `onMessage` is called there synchronously, and for a QoS 1 message
/// libmosquitto sends PUBACK only when it returns: a receiver that stores the message before
/// returning loses nothing to a crash. `@unchecked Sendable`: the handle is only used through
/// libmosquitto calls, which lock internally while its own thread runs the loop; the callbacks are
/// immutable after `init`, and the subscription list is behind a lock.
public final class MQTTClient: @unchecked Sendable {
    private let handle: OpaquePointer
    private let settings: MQTTSettings
    private let onMessage: @Sendable (MQTTMessageBytes) -> Void
    private let onEvent: @Sendable (MQTTEvent) -> Void
    private let lock = NSLock()
    private var subscriptions: [(String, Int32)] = []
    private var started = false

    private static let libraryInit: Void = { mosquitto_lib_init() }()

    public convenience init(settings: MQTTSettings, onMessage: @escaping @Sendable (MQTTMessage) -> Void,
                            onEvent: @escaping @Sendable (MQTTEvent) -> Void = { _ in }) throws(MQTTError) {
        try self.init(settings: settings, onBytes: { onMessage($0.message) }, onEvent: onEvent)
    }

    /// `onBytes` sees each message in libmosquitto's own buffers (no copy, no allocation).
    public init(settings: MQTTSettings, onBytes: @escaping @Sendable (MQTTMessageBytes) -> Void,
                onEvent: @escaping @Sendable (MQTTEvent) -> Void = { _ in }) throws(MQTTError) {
        _ = Self.libraryInit
        self.settings = settings
        self.onMessage = onBytes
        self.onEvent = onEvent
        guard let h = mosquitto_new(settings.clientId, settings.cleanSession, nil) else {
            throw MQTTError(operation: "mosquitto_new", code: MOSQ_ERR_NOMEM.rawValue)
        }
        handle = h
        mosquitto_user_data_set(h, Unmanaged.passUnretained(self).toOpaque())
        try check(mosquitto_int_option(h, MOSQ_OPT_PROTOCOL_VERSION, Int32(MQTT_PROTOCOL_V311)), "protocol version")
        try check(mosquitto_max_inflight_messages_set(h, settings.maxInflight), "max_inflight")
        try check(mosquitto_reconnect_delay_set(h, settings.reconnectMinSeconds, settings.reconnectMaxSeconds, true), "reconnect_delay_set")
        if let user = settings.username {
            try check(mosquitto_username_pw_set(h, user, settings.password), "username_pw_set")
        }
        if let tls = settings.tls {
            try check(mosquitto_tls_set(h, tls.caFile, nil, tls.certFile, tls.keyFile, nil),
                      "TLS files refused (mqtt.ca_file \(tls.caFile)" + (tls.certFile.map { ", mqtt.cert_file \($0)" } ?? "") + (tls.keyFile.map { ", mqtt.key_file \($0)" } ?? "") + ")")
        }
        mosquitto_connect_callback_set(h) { _, obj, rc in
            guard let obj else { return }
            Unmanaged<MQTTClient>.fromOpaque(obj).takeUnretainedValue().connected(rc)
        }
        mosquitto_disconnect_callback_set(h) { _, obj, rc in
            guard let obj else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(obj).takeUnretainedValue()
            mosquitto_log_callback_set(client.handle, MQTTClient.logCallback)  // what goes wrong reconnecting is said
            client.onEvent(.disconnected(rc == 0 ? "closed" : String(cString: mosquitto_strerror(rc))))
        }
        mosquitto_message_callback_set(h) { _, obj, msg in
            guard let obj, let msg else { return }
            let m = msg.pointee
            guard let topic = m.topic else { return }
            let topicBytes = UnsafeRawPointer(topic).assumingMemoryBound(to: UInt8.self)
            let payload = m.payloadlen > 0 && m.payload != nil
                ? UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))
                : UnsafeRawBufferPointer(start: nil, count: 0)
            Unmanaged<MQTTClient>.fromOpaque(obj).takeUnretainedValue()
                .onMessage(MQTTMessageBytes(topicCString: UnsafePointer(topic),
                                            topic: UnsafeBufferPointer(start: topicBytes, count: strlen(topic)),
                                            payload: payload, qos: m.qos, retained: m.retain))
        }
        mosquitto_log_callback_set(h, Self.logCallback)
        mosquitto_publish_callback_set(h) { _, obj, mid in
            guard let obj else { return }
            Unmanaged<MQTTClient>.fromOpaque(obj).takeUnretainedValue().onEvent(.published(mid))
        }
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(operation: what, code: rc) }
    }

    /// libmosquitto's log, for the errors it handles itself (a TLS handshake that failed …). Set
    /// only while not connected: with a log callback set, libmosquitto formats a line for every
    /// packet sent and received (a `vsnprintf` and an allocation per message, about a tenth of the
    /// receiving thread at a fleet's rate), whatever its level.
    private static let logCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void = { _, obj, level, text in
        guard let obj, let text, level & Int32(MOSQ_LOG_ERR) != 0 else { return }
        Unmanaged<MQTTClient>.fromOpaque(obj).takeUnretainedValue().onEvent(.error(String(cString: text)))
    }

    private func connected(_ rc: Int32) {
        guard rc == 0 else {
            onEvent(.refused(String(cString: mosquitto_connack_string(rc))))
            return
        }
        mosquitto_log_callback_set(handle, nil)
        // (Re)subscribe on every connection: harmless with a kept session, needed without one.
        let subs = lock.withLock { subscriptions }
        for (filter, qos) in subs { _ = mosquitto_subscribe(handle, nil, filter, qos) }
        onEvent(.connected)
    }

    /// Whether a topic matches a subscription filter (`+`, `#`), by libmosquitto's own rules.
    public static func topic(_ topic: String, matches filter: String) -> Bool {
        topic.withCString { Self.topic(cString: $0, matches: filter) }
    }

    /// The same for a topic as libmosquitto hands it over.
    public static func topic(cString topic: UnsafePointer<CChar>, matches filter: String) -> Bool {
        var result = false
        return mosquitto_topic_matches_sub(filter, topic, &result) == MOSQ_ERR_SUCCESS.rawValue && result
    }

    /// Subscribes now and after every reconnection.
    public func subscribe(_ filter: String, qos: Int32 = 1) throws(MQTTError) {
        let isStarted = lock.withLock { () -> Bool in
            subscriptions.append((filter, qos))
            return started
        }
        if isStarted {
            let rc = mosquitto_subscribe(handle, nil, filter, qos)
            if rc != MOSQ_ERR_NO_CONN.rawValue { try check(rc, "subscribe \(filter)") }
        }
    }

    /// Connects in the background and starts the network thread; it reconnects by itself.
    public func start() throws(MQTTError) {
        lock.withLock { started = true }
        let rc = mosquitto_connect_async(handle, settings.host, settings.port, settings.keepaliveSeconds)
        // A broker that is down now is retried by the loop; anything else is a configuration error.
        if rc != MOSQ_ERR_SUCCESS.rawValue && rc != MOSQ_ERR_ERRNO.rawValue && rc != MOSQ_ERR_NO_CONN.rawValue {
            throw MQTTError(operation: "connect \(settings.host):\(settings.port)", code: rc)
        }
        // Said at once, with the reason: the loop's retries say nothing of their own.
        if rc == MOSQ_ERR_ERRNO.rawValue {
            onEvent(.error("cannot connect to \(settings.host):\(settings.port): \(String(cString: strerror(errno)))"))
        } else if rc == MOSQ_ERR_NO_CONN.rawValue {
            onEvent(.error("cannot connect to \(settings.host):\(settings.port): no connection"))
        }
        try check(mosquitto_loop_start(handle), "loop_start")
    }

    /// Connects now, without a network thread: the caller drives the connection with `pump`
    /// (a publisher that wants every message written from its own thread, no hand-over).
    public func connectInline() throws(MQTTError) {
        try check(mosquitto_connect(handle, settings.host, settings.port, settings.keepaliveSeconds),
                  "connect \(settings.host):\(settings.port)")
    }

    /// One round of network work for an inline connection: reads (acknowledgements, callbacks),
    /// writes what is pending, keeps the connection alive. 0 when all is well, else libmosquitto's
    /// error (the connection is lost: call `reconnect`).
    @discardableResult
    public func pump(timeoutMs: Int32 = 0) -> Int32 { mosquitto_loop(handle, timeoutMs, 1) }

    /// Reconnects an inline connection; 0 on success.
    public func reconnect() -> Int32 { mosquitto_reconnect(handle) }

    /// Disconnects an inline connection.
    public func disconnectInline() {
        mosquitto_disconnect(handle)
        _ = mosquitto_loop(handle, 10, 1)
    }

    /// Queues a message; returns its message id (acknowledged later by `.published` for QoS 1).
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) -> Int32 {
        try publish(topic: Array(topic.utf8), payload: payload, qos: qos, retain: retain)
    }

    /// The same with the topic as bytes (no NUL): a publisher's hot path builds no String.
    @discardableResult
    public func publish(topic: [UInt8], payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        var t = topic
        t.append(0)
        let rc = t.withUnsafeBufferPointer { tb in
            payload.withUnsafeBytes { b in
                tb.baseAddress!.withMemoryRebound(to: CChar.self, capacity: tb.count) { name in
                    mosquitto_publish(handle, &mid, name, Int32(b.count), b.baseAddress, qos, retain)
                }
            }
        }
        try check(rc, "publish \(String(decoding: topic, as: UTF8.self))")
        return mid
    }

    /// Disconnects cleanly and stops the network thread.
    public func stop() {
        let wasStarted = lock.withLock { () -> Bool in
            defer { started = false }
            return started
        }
        guard wasStarted else { return }
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }
}
