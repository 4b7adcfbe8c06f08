/// A store that can say whether it works right now (for `/healthz`): the database answers,
/// the directory binds. Throws with the reason when it does not.
public protocol HealthChecking: Sendable {
    func checkHealth() async throws
}
