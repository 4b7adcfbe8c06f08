import Synchronization

/// Runs `body` and answers with its result, or with `timedOut()` once `timeout` has passed,
/// whichever comes first; a late body is cancelled and its result dropped.
///
/// Not a task group racing a sleep: a group returns only when all its children have, and a
/// postgres-nio query waiting for a connection to a database that has gone away does not end
/// when cancelled (the soak saw requests wait over 15 s for a 3 s deadline while PostgreSQL
/// restarted). The caller must have its answer at the deadline, whatever the query does.
func answer<T: Sendable>(within timeout: Duration, timedOut: @escaping @Sendable () -> any Error, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            race.add(Task {
                do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
            })
            race.add(Task {
                try? await Task.sleep(for: timeout)
                race.finish(.failure(timedOut()))
            })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The continuation of one ``answer(within:timedOut:_:)``, resumed once, by the first to finish.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        /// Set when the race ended before it began (the caller was already cancelled).
        var early: Result<T, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        let early = self.state.withLock { state -> Result<T, any Error>? in
            guard state.finished else {
                state.continuation = continuation
                return nil
            }
            return state.early
        }
        if let early { continuation.resume(with: early) }
    }

    /// Keeps `task` to cancel when the race ends (at once if it has).
    func add(_ task: Task<Void, Never>) {
        let over = self.state.withLock { state in
            if !state.finished { state.tasks.append(task) }
            return state.finished
        }
        if over { task.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = self.state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard !state.finished else { return (nil, []) }
            state.finished = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil; state.tasks = [] }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
