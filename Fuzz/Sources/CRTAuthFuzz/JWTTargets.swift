import AuthCore
@testable import CRTAuthJWT
import Foundation
import SSHKeys

/// asymmetric_jwt_auth's tokens, the strict JSON reader beneath them, and JWKS documents.
let jwtTargets: [FuzzTarget] = [
    FuzzTarget(name: "jwt") { bytes in
        let input = text(bytes)
        _ = try? AsymmetricJWT.UnverifiedToken(input)
        runBlocking {
            _ = try? await AsymmetricJWT.Verifier().verify(token: input, now: FuzzServer.now, keys: FuzzKeys.users, nonces: InMemoryNonceStore())
        }
    },
    FuzzTarget(name: "json") { bytes in
        // Stricter than Foundation, never laxer: what this reader accepts Foundation reads as
        // an object with the same member names.
        guard let object = try? JSONObjectParser.parse(bytes) else { return }
        let foundation = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        require(foundation != nil, "an object Foundation refuses")
        require(Set(object.members.map(\.name)) == Set(foundation?.keys.map { $0 } ?? []), "member names differ from Foundation's")
        require(Set(object.members.map(\.name)).count == object.members.count, "a duplicate member name accepted")
    },
    FuzzTarget(name: "jwks") { bytes in
        guard let set = try? JSONWebKeySet(json: bytes) else { return }
        let keys = set.keys.map(\.key)
        for key in keys { checkKey(key) }
        guard let again = try? JSONWebKeySet(json: Array(JSONWebKeySet.document(publishing: keys).utf8)) else {
            require(false, "a published JWKS document does not read back")
            return
        }
        require(again.keys.map(\.key) == keys, "a JWKS document published again holds other keys")
    },
]
