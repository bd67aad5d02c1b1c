import ArgumentParser
import Foundation
import InspectionCore
import InspectionFiles
import InspectionMQTT
import InspectionReplay
import InspectionSim

@main
struct InspectionSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection-sim",
        abstract: "Scenarios on real roads for InspectionWatch, and a tracker publisher.",
        version: BuildInfo.version,
        subcommands: [Generate.self, Publish.self]
    )
}

/// Exit 2 with one line on stderr: what the user must fix.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("inspection-sim: \(message)\n".utf8))
    return ExitCode(2)
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a scenario: registry, traces (one CSV per day) and ground truth.")

    @Option(help: "Roads as GeoJSON LineStrings (OSM-derived).") var roads: String
    @Option(help: "Polygons (buildings, landuse) as GeoJSON; enterprise sites are chosen among them.") var sites: String
    @Option(help: "Seed: the same seed gives byte-identical output.") var seed: UInt64 = 1
    @Option(help: "Enforcement vehicles (spread over 5 agencies).") var vehicles = 20
    @Option(help: "Days to simulate.") var days = 14
    @Option(help: "First day (local, YYYY-MM-DD).") var start = "2026-03-02"
    @Option(name: .customLong("site-count"), help: "Enterprise sites to choose.") var siteCount = 200
    @Option(help: "Ordinary inspections per vehicle and working day, MIN-MAX.") var stops = "2-4"
    @Option(help: "Behaviours to plant: all=N, none, or name=N,… (\(Behaviour.allCases.map(\.rawValue).joined(separator: ", "))).")
    var plant = "all=1"
    @Option(name: .customLong("jitter-m"), help: "GPS error, standard deviation in metres.") var jitterM = 0.0
    @Option(help: "Share of fixes lost (0…1).") var drop = 0.0
    @Option(help: "Share of fixes sent twice.") var duplicate = 0.0
    @Option(help: "Share of fixes delayed by 100–1,000 lines.") var delay = 0.0
    @Option(help: "Share of fixes swapped with the next.") var reorder = 0.0
    @Option(help: "Share of lines garbled.") var corrupt = 0.0
    @Option(name: .customLong("clock-skew-s"), help: "Tracker clocks off by up to this many seconds (per vehicle).") var clockSkewS = 0
    @Flag(help: "Write scans.csv: code scans for most occasions; the ground truth judges unscanned_visit.") var scans = false
    @Option(name: .customLong("missed-scans"), help: "Share of ordinary occasions left unscanned (0…1).") var missedScans = 0.03
    @Option(help: "Output folder.") var out: String

    func run() throws {
        var o = ScenarioOptions()
        o.scans = scans
        guard (0...1).contains(missedScans) else { throw fail("--missed-scans: \(missedScans) is not a share between 0 and 1") }
        o.missedScans = missedScans
        o.seed = seed; o.vehicles = vehicles; o.days = days; o.startDay = start; o.sites = siteCount
        let range = stops.split(separator: "-").compactMap { Int($0) }
        guard range.count == 2, range[0] >= 0, range[0] <= range[1] else { throw fail("--stops: \(stops) is not MIN-MAX") }
        o.stopsPerDay = range[0]...range[1]
        do { (o.plant, o.plantNamed) = try Behaviour.parse(plant) } catch { throw fail("\(error)") }
        o.noise.jitterM = jitterM; o.noise.drop = drop; o.noise.duplicate = duplicate; o.noise.delay = delay
        o.noise.reorder = reorder; o.noise.corrupt = corrupt; o.noise.clockSkewS = clockSkewS
        for (name, v) in [("drop", drop), ("duplicate", duplicate), ("delay", delay), ("reorder", reorder), ("corrupt", corrupt)]
        where !(0...1).contains(v) { throw fail("--\(name): \(v) is not a share between 0 and 1") }
        let started = Date()
        let roadBytes: [UInt8], siteBytes: [UInt8]
        do { roadBytes = try FileBytes.read(roads); siteBytes = try FileBytes.read(sites) } catch { throw fail("\(error)") }
        let scenario: Scenario
        do {
            scenario = try ScenarioGenerator.generate(roads: Data(roadBytes), roadsFile: roads, sites: Data(siteBytes),
                                                      sitesFile: sites, options: o)
        } catch { throw fail("\(error)") }
        let counts: NoiseCounts
        do { counts = try ScenarioFiles.write(scenario, noise: o.noise, seed: seed, to: out) } catch { throw fail("\(error)") }
        let byKind = AlertKind.allCases.map { k in "\(k.rawValue) \(scenario.alerts.filter { $0.kind == k }.count)" }
        print("""
            scenario \(out): seed \(seed), \(vehicles) vehicles, \(days) days from \(start), \(scenario.registry.sites.count) sites
              registry: \(scenario.tasksCSV.split(separator: "\n").count - 1) tasks; \(scenario.planted.count) planted behaviours
              traces:   \(scenario.fixCount) fixes in \(days) files
              truth:    \(scenario.visits.count) visits, \(scenario.alerts.count) alerts (\(byKind.joined(separator: ", ")))
            """)
        if let scans = scenario.scans { print("  scans:    \(scans.count) in \(out)/scans.csv") }
        for (b, why) in scenario.leftOut {
            print("  not planted: \(b.rawValue) — \(why) (name it in --plant to make that an error)")
        }
        if !o.noise.isNone {
            print("  noise:    \(counts.dropped) dropped, \(counts.duplicated) duplicated, \(counts.delayed) delayed, \(counts.reordered) reordered, \(counts.corrupted) corrupted; jitter \(jitterM) m, clock skew ±\(clockSkewS) s")
        }
        print(String(format: "  took %.1f s", Date().timeIntervalSince(started)))
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish trace files to MQTT as trackers would, in time order.")

    @Option(help: "Broker HOST:PORT.") var broker = "127.0.0.1:1883"
    @Option(help: "Payload format: native, owntracks or jt808.") var format = "native"
    @Option(help: "Times real time (e.g. 60), or 'max' for as fast as the broker takes them.") var speed = "max"
    @Option(help: "A steady rate in messages per second instead of --speed (timestamps then only order them).") var rate: Double?
    @Option(help: "MQTT QoS, 0 or 1.") var qos: Int32 = 1
    @Option(help: "Messages unacknowledged at a time.") var window = 1000
    @Option(name: .customLong("client-id"), help: "MQTT client id (session kept across reconnects).") var clientId = "inspection-sim"
    @Option(help: "MQTT user name.") var username: String?
    @Option(help: "Password: read from this environment variable (never on the command line).") var passwordEnv: String?
    @Option(help: "Share of payloads garbled on the way (0…1).") var corrupt = 0.0
    @Option(name: .customLong("blind-zone"),
            help: "Share of vehicle-days with a 5–90 min outage whose fixes are sent after it (jt808: 0x0704 batches of at most 50).")
    var blindZone = 0.0
    @Option(help: "Seed for --corrupt and --blind-zone.") var seed: UInt64 = 1
    @Option(help: "Code scans (scans.csv): each sent as JSON on scans/<agency_id> once the positions reach its time plus --scan-delay-s.")
    var scans: String?
    @Option(name: .customLong("scan-delay-s"), help: "How far behind the positions scans are sent, in seconds.") var scanDelayS = 3600
    @Option(name: .customLong("connect-timeout-s"), help: "Give up (exit 2) when the broker cannot be reached for this long, in seconds.")
    var connectTimeoutS = 30.0
    @Flag(help: "Publish in the files' line order (keeps planted delays and reordering) instead of time order.")
    var fileOrder = false
    @Flag(help: "No progress bar.") var quiet = false
    @Argument(help: "Trace files (CSV or NDJSON, SPEC §3.2).") var traces: [String]

    func run() throws {
        var o = Publisher.Options()
        guard let colon = broker.lastIndex(of: ":"), let port = Int32(broker[broker.index(after: colon)...]) else {
            throw fail("--broker: \(broker) is not HOST:PORT")
        }
        o.mqtt.host = String(broker[..<colon]); o.mqtt.port = port
        o.mqtt.clientId = clientId
        o.mqtt.username = username
        if let passwordEnv { o.mqtt.password = ProcessInfo.processInfo.environment[passwordEnv] }
        guard let f = PayloadFormat(rawValue: format) else { throw fail("--format: \(format) is not native, owntracks or jt808") }
        o.format = f
        if speed != "max" {
            guard let x = Double(speed), x > 0 else { throw fail("--speed: \(speed) is not a positive number or 'max'") }
            o.speed = x
        }
        if let rate {
            guard rate > 0 else { throw fail("--rate: \(rate) is not a positive number") }
            o.rate = rate
        }
        guard qos == 0 || qos == 1 else { throw fail("--qos: \(qos) is not 0 or 1") }
        o.qos = qos; o.window = max(1, window)
        guard (0...1).contains(corrupt) else { throw fail("--corrupt: \(corrupt) is not a share between 0 and 1") }
        o.corrupt = corrupt; o.seed = seed; o.fileOrder = fileOrder
        guard (0...1).contains(blindZone) else { throw fail("--blind-zone: \(blindZone) is not a share between 0 and 1") }
        o.blindZone = blindZone
        if let scans {
            do {
                let parsed = try ScanFields.parseCSV(try FileBytes.read(scans), file: scans)
                if let first = parsed.errors.first { throw fail(first) }
                o.scans = parsed.scans
            } catch let e as ExitCode { throw e } catch { throw fail("\(error)") }
            guard scanDelayS >= 0 else { throw fail("--scan-delay-s: \(scanDelayS) is negative") }
            o.scanDelay = Millis(scanDelayS) * 1000
        }
        var files: [(String, [UInt8])] = []
        for t in traces {
            do { files.append((t, try FileBytes.read(t))) } catch { throw fail("\(error)") }
        }
        let tty = isatty(2) != 0
        var lastLine = Date.distantPast
        let final: Publisher.Progress
        do {
            o.connectTimeout = max(0, connectTimeoutS)
            final = try Publisher(options: o).run(files: files, problem: { FileHandle.standardError.write(Data(("inspection-sim: " + $0 + "\n").utf8)) }) { p in
                guard !quiet else { return }
                let share = p.total > 0 ? Double(p.published) / Double(p.total) : 1
                let bar = String(repeating: "#", count: Int(share * 30)) + String(repeating: ".", count: 30 - Int(share * 30))
                let line = String(format: "[%@] %5.1f%% %d/%d sent, %d acknowledged, %.0f msg/s, %d reconnects",
                                  bar, share * 100, p.published, p.total, p.acknowledged, Double(p.acknowledged) / max(p.elapsed, 1e-3), p.reconnects)
                if tty {
                    FileHandle.standardError.write(Data(("\r" + line).utf8))
                } else if Date().timeIntervalSince(lastLine) >= 5 {
                    lastLine = Date()
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            }
        } catch { throw fail("\(error)") }
        if tty && !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        print(String(format: "published %d messages (%d acknowledged by the broker) in %.1f s, %.0f msg/s, %d reconnects",
                     final.published, final.acknowledged, final.elapsed, Double(final.published) / max(final.elapsed, 1e-3), final.reconnects)
              + (final.corrupted > 0 ? ", \(final.corrupted) garbled" : ""))
        if final.acknowledged < final.published { throw ExitCode(1) }
    }
}
