import Foundation
import NIOConcurrencyHelpers
import InspectionConfig
import InspectionCore
import InspectionStore

/// Who asks for a change: a name for the history, and the agency an agency's token is bound to.
public struct Caller: Sendable {
    public var name: String
    /// Set for an agency's token: it registers and amends only tasks it leads.
    public var agencyId: String?
    public init(name: String, agencyId: String?) { self.name = name; self.agencyId = agencyId }
}

/// A change the engine's thread carries out between batches (the engine is not shared).
public enum Command: Sendable {
    /// A new task, from its fields as in tasks.csv (SPEC §2).
    case createTask(fields: [String: String], by: Caller)
    /// Fields of a stored task replaced (`task_id` cannot change).
    case amendTask(id: String, fields: [String: String], by: Caller)
    case cancelTask(id: String, by: Caller)
    /// The registry files read again (`registry.dir`), as on SIGHUP.
    case reload(by: Caller)
}

public enum CommandError: Error, Sendable, Equatable {
    /// A field that does not validate (the same message the tasks file gets).
    case invalid(field: String, message: String)
    case notFound(String)
    case conflict(String)
    case forbidden(String)
    /// The registry files do not load (the message names file, line and field): nothing changed.
    case registry(String)
    /// The store cannot write, or the daemon is stopping: nothing changed.
    case failed(String)
}

public struct CommandResult: Sendable {
    public var task: StoredTask?
    public var registry: (sites: Int, vehicles: Int, tasks: Int)?
    public var rematch = RematchOutcome()
}

/// Commands waiting for the engine's thread, each with the caller waiting for its result.
final class CommandQueue: Sendable {
    typealias Reply = @Sendable (Result<CommandResult, CommandError>) -> Void
    /// What waits, and whether the queue still takes commands.
    private let state = NIOLockedValueBox<(pending: [(Command, Reply?)], closed: Bool)>(([], false))

    /// False once the daemon stops taking commands.
    func push(_ c: Command, reply: Reply?) -> Bool {
        state.withLockedValue { s in
            guard !s.closed else { return false }
            s.pending.append((c, reply))
            return true
        }
    }

    func takeAll() -> [(Command, Reply?)] { state.withLockedValue { s in defer { s.pending.removeAll() }; return s.pending } }

    /// Refuses what is still waiting and everything after.
    func close() {
        let rest = state.withLockedValue { s -> [(Command, Reply?)] in
            s.closed = true
            defer { s.pending.removeAll() }
            return s.pending
        }
        for (_, reply) in rest { reply?(.failure(.failed("the daemon is stopping"))) }
    }
}

/// Carries out task changes and reloads against the engine and the store. The engine is changed
/// on a copy and taken only once the store has committed, so a failed write changes nothing.
struct CommandExecutor {
    let configuration: Configuration
    let store: Store
    let loadRegistry: () throws(Daemon.Failure) -> Registry

    func topic(_ a: AlertRecord) -> String { Store.alertTopic(prefix: configuration.daemon.alertTopicPrefix, a) }

    static func now() -> Millis { Millis(Date().timeIntervalSince1970 * 1000) }

    /// The engine's rules again at these enterprises (after their tasks changed).
    func rematch(_ enterprises: Set<String>, engine: inout Engine) throws -> [Rematch] {
        try enterprises.sorted(by: byteOrder).map { e in
            let (assignments, alerts) = engine.rematch(enterprise: e, visits: try store.seenVisits(enterprise: e))
            return Rematch(enterpriseId: e, assignments: assignments, alerts: alerts)
        }
    }

    func execute(_ command: Command, processor: inout JournalProcessor) -> Result<CommandResult, CommandError> {
        do {
            switch command {
            case .reload(let caller):
                return try reload(by: caller, processor: &processor)
            case .createTask(let fields, let caller):
                let task = try validate(fields, engine: processor.engine)
                if let scope = caller.agencyId, task.agencyId != scope {
                    throw CommandError.forbidden("an agency registers only its own tasks: agency_id must be \"\(scope)\"")
                }
                if try store.task(id: task.id) != nil { throw CommandError.conflict("task_id \"\(task.id)\" exists") }
                return try change(to: task, from: nil, by: caller, verb: "created", processor: &processor)
            case .amendTask(let id, let fields, let caller):
                guard let old = try store.task(id: id) else { throw CommandError.notFound("no task \"\(id)\"") }
                try requireOwner(old.task, caller)
                if let given = fields["task_id"], given != id {
                    throw CommandError.invalid(field: "task_id", message: "cannot change (\"\(id)\")")
                }
                var merged = Self.fields(of: old.task)
                for (k, v) in fields { merged[k] = v }
                let task = try validate(merged, engine: processor.engine)
                if let scope = caller.agencyId, task.agencyId != scope {
                    throw CommandError.forbidden("an agency amends only its own tasks: agency_id must stay \"\(scope)\"")
                }
                return try change(to: task, from: old.task, by: caller, verb: "amended", processor: &processor)
            case .cancelTask(let id, let caller):
                guard let old = try store.task(id: id) else { throw CommandError.notFound("no task \"\(id)\"") }
                try requireOwner(old.task, caller)
                var task = old.task
                task.status = .cancelled
                return try change(to: task, from: old.task, by: caller, verb: "cancelled", processor: &processor)
            }
        } catch let e as CommandError {
            return .failure(e)
        } catch {
            return .failure(.failed("store: \(error)"))
        }
    }

    private func requireOwner(_ task: InspectionTask, _ caller: Caller) throws(CommandError) {
        if let scope = caller.agencyId, task.agencyId != scope {
            throw .forbidden("task \"\(task.id)\" is led by agency \"\(task.agencyId)\"; an agency changes only its own")
        }
    }

    private func validate(_ fields: [String: String], engine: Engine) throws(CommandError) -> InspectionTask {
        do {
            return try TaskFields.task(from: fields, agencies: Set(engine.registry.agencies.keys), calendar: configuration.engine.calendar)
        } catch {
            throw .invalid(field: error.field, message: error.message)
        }
    }

    /// A task's fields as text, as tasks.csv has them.
    static func fields(of t: InspectionTask) -> [String: String] {
        ["task_id": t.id, "agency_id": t.agencyId, "partner_agency_ids": t.partnerAgencyIds.joined(separator: ";"),
         "enterprise_id": t.enterpriseId, "site_id": t.siteId ?? "", "kind": t.kind.rawValue,
         "start": Timestamp.formatUTC(t.start), "end": Timestamp.formatUTC(t.end),
         "announced_at": t.announcedAt.map(Timestamp.formatUTC) ?? "", "cross_region": t.crossRegion ? "true" : "false",
         "status": t.status.rawValue]
    }

    private func change(to task: InspectionTask, from old: InspectionTask?, by caller: Caller, verb: String,
                        processor: inout JournalProcessor) throws -> Result<CommandResult, CommandError> {
        let at = Self.now()
        var result = CommandResult()
        result.rematch = try rematchChanged(Set([task.enterpriseId] + (old.map { [$0.enterpriseId] } ?? [])), saving: task,
                                            processor: &processor, actor: caller.name, at: at,
                                            reason: "task \(task.id) \(verb) by \(caller.name)")
        result.task = StoredTask(task: task, source: "api", updatedAt: at, updatedBy: caller.name)
        return .success(result)
    }

    /// The enterprises whose tasks differ between two task lists (added, removed or changed).
    static func changedEnterprises(_ before: [String: InspectionTask], _ after: [String: InspectionTask]) -> Set<String> {
        var changed = Set<String>()
        for (id, t) in after where before[id] != t {
            changed.insert(t.enterpriseId)
            if let old = before[id] { changed.insert(old.enterpriseId) }
        }
        for (id, t) in before where after[id] == nil { changed.insert(t.enterpriseId) }
        return changed
    }

    /// Matches the visits at these enterprises again — after taking `task` (saved as coming from
    /// the API) when there is one — and commits what that changes.
    func rematchChanged(_ enterprises: Set<String>, saving task: InspectionTask? = nil, processor: inout JournalProcessor,
                        actor: String, at: Millis = now(), reason: String) throws -> RematchOutcome {
        guard task != nil || !enterprises.isEmpty else { return RematchOutcome() }
        return try processor.withEngine { engine in
            if let task { engine.upsertTask(task) }
            return try store.commitTaskChange(task: task, actor: actor, at: at, rematches: try rematch(enterprises, engine: &engine),
                                              reason: reason, topic: topic)
        }
    }

    private func reload(by caller: Caller, processor: inout JournalProcessor) throws -> Result<CommandResult, CommandError> {
        let fresh: Registry
        do { fresh = try loadRegistry() } catch {
            if case .registry(let e) = error { return .failure(.registry(e.description)) }
            return .failure(.failed(error.description))
        }
        let before = processor.engine.registry.tasks
        // On a copy, taken only once the store has committed what the reload changes (stays whose
        // site is gone end, visits are matched again): a failed write leaves engine and store as
        // they were, together.
        var copy = processor
        try store.commit(copy.replaceRegistry(fresh))
        var result = CommandResult()
        result.registry = (fresh.sites.count, fresh.vehicles.count, fresh.tasks.count)
        result.rematch = try rematchChanged(Self.changedEnterprises(before, fresh.tasks), processor: &copy,
                                            actor: caller.name, reason: "registry reloaded by \(caller.name)")
        processor = copy
        return .success(result)
    }
}
