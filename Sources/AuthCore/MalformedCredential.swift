/// An error a scheme throws for a credential that cannot be read at all (not a refused one):
/// middleware answers 400 with ``message``. Each scheme's own error type conforms.
public protocol MalformedCredential: Error, Sendable {
    /// What was wrong, short and safe to send to the client: never a credential.
    var message: String { get }
}
