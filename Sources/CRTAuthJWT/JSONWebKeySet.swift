import Foundation
import SSHKeys

/// A JSON Web Key Set (RFC 7517 §5) as the JWT scheme uses one: signature keys by `kid`.
///
/// Reading keeps what asymmetric_jwt_auth 1.3.0 keeps — entries whose `use` is `sig` or absent,
/// with a non-empty `kid` — of the types it takes (RSA, Ed25519) and also ECDSA P-256/P-384;
/// other entries are skipped, not fatal. Publishing writes Ed25519 keys as `OKP`, which
/// asymmetric_jwt_auth itself cannot.
public struct JSONWebKeySet: Sendable {
    /// Largest document read.
    public static let maximumLength = 1 << 20
    /// Most keys kept from one document.
    public static let maximumKeys = 100

    public private(set) var keys: [(id: String, key: SSHPublicKey)]

    public init(keys: [(id: String, key: SSHPublicKey)]) {
        self.keys = keys
    }

    /// Reads a JWKS document.
    /// - Throws: ``JWTError`` when the document is not a JSON object with a `keys` array.
    public init(json: some Collection<UInt8>) throws {
        guard json.count <= Self.maximumLength else { throw JWTError(.tooLarge, "the JWKS is longer than \(Self.maximumLength) bytes") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any], let entries = object["keys"] as? [Any] else {
            throw JWTError(.malformed, "a JWKS is a JSON object with a \"keys\" array")
        }
        var keys: [(id: String, key: SSHPublicKey)] = []
        for case let entry as [String: Any] in entries {
            let members = entry.compactMapValues { $0 as? String }
            guard members["use"] == nil || members["use"] == "sig", let id = members["kid"], !id.isEmpty, id.utf8.count <= 256,
                  let key = try? SSHPublicKey(jwkMembers: members) else { continue }
            keys.append((id, key))
            if keys.count == Self.maximumKeys { break }
        }
        self.keys = keys
    }

    /// The key named `id`.
    public func key(id: String) -> SSHPublicKey? { self.keys.first { $0.id == id }?.key }

    /// A JWKS document publishing `keys` with `use: sig`, the `alg` a client of ours signs with,
    /// and `kid` = asymmetric_jwt_auth's (hex SHA-256 of the SPKI PEM). Keys without a JWK form
    /// (FIDO keys) are left out.
    public static func document(publishing keys: [SSHPublicKey]) -> String {
        var entries: [String] = []
        for key in keys {
            guard var members = try? key.jwkMembers, let id = key.asymmetricJWTKeyID, let algorithm = AsymmetricJWT.Algorithm.preferred(for: key.type) else { continue }
            members["use"] = "sig"
            members["alg"] = algorithm.rawValue
            members["kid"] = id
            // Names and values are fixed words, hex and base64url: nothing needs escaping.
            entries.append("{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}")
        }
        return "{\"keys\":[" + entries.joined(separator: ",") + "]}\n"
    }
}
