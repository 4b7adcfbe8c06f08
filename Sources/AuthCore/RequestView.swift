/// An HTTP request as every per-request scheme reads it, whatever framework received it: the
/// method, where it was sent (as the client addressed it), the header fields, and a way to
/// read the body for the schemes that cover it. Frameworks build one per request; fields are
/// read in place and the body only when an authenticator asks.
public struct RequestView: Sendable {
    public var method: String
    /// `http` or `https`, as the client reached the service (behind a TLS proxy: `https`).
    public var scheme: String
    /// `host[:port]`, as the client addressed it.
    public var authority: String
    public var path: String
    /// The query without `?`, if any.
    public var query: String?
    /// The header fields.
    public var fields: any RequestFields
    /// Reads the body (up to the framework's limit); called at most once per authenticator.
    public var body: @Sendable () async throws -> [UInt8]

    public init(method: String, scheme: String, authority: String, path: String, query: String?,
                fields: some RequestFields, body: @escaping @Sendable () async throws -> [UInt8] = { [] }) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fields = fields
        self.body = body
    }

    /// A request whose fields are a list (names as received, in order).
    public init(method: String, scheme: String, authority: String, path: String, query: String?,
                fields: [(name: String, value: String)], body: @escaping @Sendable () async throws -> [UInt8] = { [] }) {
        self.init(method: method, scheme: scheme, authority: authority, path: path, query: query, fields: FieldList(fields), body: body)
    }

    /// Every value of the field `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] { self.fields.values(name) }

    /// The field's values, each without surrounding blanks, joined by `, ` (RFC 9110 §5.3,
    /// RFC 9421 §2.1); nil when absent.
    public func field(_ name: String) -> String? {
        let values = self.fields.values(name)
        switch values.count {
        case 0: return nil
        case 1: return Self.trimmingBlanks(values[0])
        default: return values.map(Self.trimmingBlanks).joined(separator: ", ")
        }
    }

    private static func trimmingBlanks(_ value: String) -> String {
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        let utf8 = value.utf8
        guard let first = utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
        guard first != utf8.startIndex || utf8.last.map(isBlank) == true else { return value }
        let last = utf8.lastIndex(where: { !isBlank($0) })!
        return String(value[first...last])
    }
}
