/// A fixed set of header field names, looked up as sent (any case) without lower-casing or
/// hashing the name: candidates are found by length and compared byte by byte. The proxy asks
/// it of every field of every request and answer it passes on, where a `Set<String>` lookup
/// (a lower-cased copy, then a hash) was the larger part of the header rules' cost.
package struct FieldNameSet: Sendable {
    /// Lower-cased names by their length in bytes, with their place in the list given.
    private let byLength: [[(name: [UInt8], index: Int)]]

    /// `names` in lower case; ``index(of:)`` answers a name's place in this list.
    package init(_ names: [String]) {
        var byLength = [[(name: [UInt8], index: Int)]](repeating: [], count: (names.map(\.utf8.count).max() ?? 0) + 1)
        for (index, name) in names.enumerated() {
            precondition(!name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }, "field names are given in lower case")
            byLength[name.utf8.count].append((Array(name.utf8), index))
        }
        self.byLength = byLength
    }

    package init(_ names: Set<String>) { self.init(names.sorted()) }

    /// Where `name` (in any case) stands in the list given, if it is there.
    package func index(of name: String) -> Int? {
        let length = name.utf8.count
        guard length < self.byLength.count else { return nil }
        for candidate in self.byLength[length] {
            let equal = candidate.name.withUnsafeBufferPointer { expected in
                zip(name.utf8, expected).allSatisfy { byte, lower in byte == lower || (byte >= 0x41 && byte <= 0x5A && byte | 0x20 == lower) }
            }
            if equal { return candidate.index }
        }
        return nil
    }

    package func contains(_ name: String) -> Bool { self.index(of: name) != nil }
}
