import Foundation
import NIOConcurrencyHelpers
import InspectionCore
import InspectionStore

/// What the live stream carries: an alert raised, or an alert's status changed.
public enum FeedEvent: Sendable {
    case alert(AlertRecord)
    case status(StatusChange, agencyId: String?)

    /// The agency an event concerns (an agency's token sees only its own).
    public var agencyId: String? {
        switch self {
        case .alert(let a): return a.agencyId
        case .status(_, let agency): return agency
        }
    }
}

/// Hands each event to every live subscriber (the HTTP API's Server-Sent Events). A subscriber
/// that does not keep up loses the oldest events beyond `buffer`, never slows the engine.
public final class AlertFeed: Sendable {
    /// The subscribers by number, and the next number.
    private let subscribers = NIOLockedValueBox<(all: [Int: AsyncStream<FeedEvent>.Continuation], next: Int)>(([:], 0))
    let buffer: Int

    public init(buffer: Int = 1000) { self.buffer = buffer }

    public var subscriberCount: Int { subscribers.withLockedValue { $0.all.count } }

    public func subscribe() -> AsyncStream<FeedEvent> {
        let (stream, continuation) = AsyncStream<FeedEvent>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        let id = subscribers.withLockedValue { s -> Int in
            s.next += 1
            s.all[s.next] = continuation
            return s.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0.all.removeValue(forKey: id) }
        }
        return stream
    }

    /// What a re-match did: the alerts it raised, and the status changes of those it withdrew or reopened.
    public func publish(_ r: RematchOutcome) {
        publish(r.raised.map { .alert($0) } + (r.withdrawn + r.reopened).map { .status($0.change, agencyId: $0.agencyId) })
    }

    /// What late positions changed: alerts raised or changed, and those withdrawn.
    public func publish(_ r: Reconciliation) {
        publish((r.raised + r.updated).map { .alert($0) } + r.withdrawn.map {
            .status(StatusChange(alertId: $0.alertId, at: r.at, status: .withdrawn, actor: "engine", note: r.note),
                    agencyId: $0.agencyId)
        })
    }

    public func publish(_ events: [FeedEvent]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLockedValue { Array($0.all.values) }
        for c in targets { for e in events { c.yield(e) } }
    }

    /// Ends every stream (the daemon stops).
    public func finish() {
        let targets = subscribers.withLockedValue { s -> [AsyncStream<FeedEvent>.Continuation] in
            defer { s.all.removeAll() }
            return Array(s.all.values)
        }
        for c in targets { c.finish() }
    }
}
