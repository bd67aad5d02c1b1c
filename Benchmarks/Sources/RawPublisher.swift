import Foundation
import InspectionCore

/// QoS 0 PUBLISH packets (MQTT 3.1.1) written straight to the broker's socket, many per `write`:
/// load at the broker's own speed, which one libmosquitto call per message cannot offer
/// (it writes each packet on its own). For the QoS 0 benchmark only.
enum RawPublisher {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Publishes every position once; returns the seconds it took.
    static func run(port: Int32, positions: [Position], names: [String], format: PayloadFormat) throws -> Double {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw Failure(description: "connect: \(String(cString: strerror(errno)))") }
        let id = Array("bench-raw-\(getpid())".utf8)
        var connectBody: [UInt8] = [0, 4] + Array("MQTT".utf8) + [4, 0x02, 0, 60, 0, UInt8(id.count)] + id
        var out: [UInt8] = [0x10]
        lengthBytes(connectBody.count, &out)
        out += connectBody
        connectBody.removeAll()
        try send(fd, out)
        var ack = [UInt8](repeating: 0, count: 4)
        guard read(fd, &ack, 4) == 4, ack[0] == 0x20, ack[3] == 0 else { throw Failure(description: "the broker did not accept the connection") }

        let start = Clock.now()
        var topic: [UInt8] = [], payload: [UInt8] = []
        out.removeAll(keepingCapacity: true)
        for p in positions {
            PayloadEncoder.encode(format, vehicle: names[Int(p.vehicle)], ts: p.ts, lat: p.lat, lon: p.lon, speedKmh: p.speedKmh,
                                  topic: &topic, payload: &payload)
            out.append(0x30)
            lengthBytes(2 + topic.count + payload.count, &out)
            out.append(UInt8(topic.count >> 8)); out.append(UInt8(topic.count & 0xff))
            out += topic
            out += payload
            if out.count >= 256 << 10 { try send(fd, out); out.removeAll(keepingCapacity: true) }
        }
        out += [0xE0, 0]  // DISCONNECT
        try send(fd, out)
        return Clock.now() - start
    }

    static func lengthBytes(_ n: Int, _ out: inout [UInt8]) {
        var n = n
        repeat {
            var b = UInt8(n % 128)
            n /= 128
            if n > 0 { b |= 0x80 }
            out.append(b)
        } while n > 0
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}
