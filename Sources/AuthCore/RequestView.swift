/// An HTTP request as every per-request scheme reads it, whatever framework received it: the
/// method, where it was sent (as the client addressed it), the header fields, and a way to
/// read the body for the schemes that cover it. Frameworks build one per request; the body is
/// read only when an authenticator asks.
public struct RequestView: Sendable {
    public var method: String
    /// `http` or `https`, as the client reached the service (behind a TLS proxy: `https`).
    public var scheme: String
    /// `host[:port]`, as the client addressed it.
    public var authority: String
    public var path: String
    /// The query without `?`, if any.
    public var query: String?
    /// Header fields in order, names as received.
    public var fields: [(name: String, value: String)]
    /// Reads the body (up to the framework's limit); called at most once per authenticator.
    public var body: @Sendable () async throws -> [UInt8]

    public init(method: String, scheme: String, authority: String, path: String, query: String?,
                fields: [(name: String, value: String)], body: @escaping @Sendable () async throws -> [UInt8] = { [] }) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fields = fields
        self.body = body
    }

    /// Every value of the field `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        self.fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The field's values joined as one (RFC 9110 §5.3), or nil when absent.
    public func field(_ name: String) -> String? {
        let values = self.values(name)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}
