/// The shape every module's one error type shares: a ``code`` to branch on (equality and
/// hashing are by code alone: messages are diagnostics) and a ``message`` for people, which
/// never holds a secret, a credential or key material.
public protocol CodedError: Error, Hashable, CustomStringConvertible, Sendable {
    associatedtype Code: Hashable & Sendable
    var code: Code { get }
    var message: String { get }
}

extension CodedError {
    public var description: String { self.message }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
