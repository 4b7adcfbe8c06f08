/// A request's header fields as a framework holds them, read in place: an authenticator asks
/// for the few fields its scheme uses, so the framework's header storage is never copied on
/// the way in (the crtauth token check runs on every request).
public protocol RequestFields: Sendable {
    /// Every value of the field `name` (case-insensitive), in order.
    func values(_ name: String) -> [String]
    /// Every field in order, names as received (for schemes that sign arbitrary fields).
    var all: [(name: String, value: String)] { get }
}

/// Header fields held as a list: what a framework without its own field type, a client or a
/// test passes.
public struct FieldList: RequestFields {
    public var all: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)]) { self.all = fields }

    public func values(_ name: String) -> [String] {
        self.all.compactMap { $0.name.utf8.count == name.utf8.count && $0.name.lowercased() == name.lowercased() ? $0.value : nil }
    }
}
