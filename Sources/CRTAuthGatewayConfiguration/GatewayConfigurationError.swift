/// A setting of `crtauth serve` that cannot be used as given: a value of the wrong type (naming
/// where it came from), a configuration file that cannot be read, is not JSON or YAML, or holds
/// a key that is no setting.
public struct GatewayConfigurationError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { self.message }
}
