import AuthCore
import Synchronization

/// What authentication decided about one request, for its access-log line: written by
/// ``CRTAuthMiddleware`` through the task-local ``current``, which ``AccessLogMiddleware`` binds
/// around the rest of the chain.
public final class AccessRecord: Sendable {
    public struct Fields: Sendable {
        public var user: String?
        /// The key's `SHA256:` fingerprint, when the request proved one.
        public var key: String?
        public var scheme: IdentityScheme?
        /// Why the request was refused (an `AuthenticationFailure` reason, `malformed`, …).
        public var refusal: String?

        package init(user: String? = nil, key: String? = nil, scheme: IdentityScheme? = nil, refusal: String? = nil) {
            self.user = user
            self.key = key
            self.scheme = scheme
            self.refusal = refusal
        }
    }

    /// The record of the request this task serves, if an ``AccessLogMiddleware`` made one.
    @TaskLocal public static var current: AccessRecord?

    private let state = Mutex(Fields())

    public init() {}

    public var fields: Fields { self.state.withLock { $0 } }

    func note(scheme: IdentityScheme?, user: String?, key: String?, refusal: String?) {
        self.state.withLock { $0 = Fields(user: user, key: key, scheme: scheme, refusal: refusal) }
    }
}
