@testable import CRTAuthClient
@testable import CRTAuthLDAP
import Foundation
@testable import SSHAgent

/// What the client reads back from its own files and from ssh-agent.
let clientTargets: [FuzzTarget] = [
    FuzzTarget(name: "token-cache") { bytes in
        guard let token = TokenCache.token(inFile: bytes) else { return }
        let written = try? JSONEncoder().encode(token)
        require(written.flatMap { TokenCache.token(inFile: [UInt8]($0)) } == token, "a cached token written again reads as another")
    },
    FuzzTarget(name: "ldap-filter-value") { bytes in
        // RFC 4515: no special character survives; unescaped, the value is the input's bytes.
        let input = text(bytes)
        let escaped = escapeLDAPFilterValue(input)
        require(!escaped.utf8.contains { $0 == 0x28 || $0 == 0x29 || $0 == 0x2A || $0 == 0x00 }, "a special character left in \(escaped)")
        var unescaped: [UInt8] = []
        var utf8 = escaped.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == 0x5C else { unescaped.append(byte); continue }
            let pair = [utf8.next(), utf8.next()].compactMap { $0 }
            guard pair.count == 2, let value = UInt8(String(decoding: pair, as: UTF8.self), radix: 16) else {
                require(false, "a backslash not followed by two hex digits in \(escaped)")
                return
            }
            unescaped.append(value)
        }
        require(unescaped == Array(input.utf8), "the escaped value does not unescape to the input")
    },
]

/// The replies of an agent.
let agentTargets: [FuzzTarget] = [
    FuzzTarget(name: "agent-identities") { bytes in
        guard let identities = try? SSHAgentClient.identities(inAnswer: bytes) else { return }
        for identity in identities { checkKey(identity.publicKey) }
    },
    FuzzTarget(name: "agent-signature") { bytes in
        guard let signature = try? SSHAgentClient.signature(inResponse: bytes) else { return }
        _ = FuzzKeys.ed25519.publicKey.isValidSignature(signature, for: Array("fuzz".utf8), policy: .standard)
    },
]
