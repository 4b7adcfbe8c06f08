import ArgumentParser
import AuthCore
import CRTAuth
import CRTAuthGatewayConfiguration
import Foundation
import SSHAgent
import SSHKeys
#if canImport(Glibc)
import Glibc
#endif

/// A failure the CLI reports as one line on stderr, then exits with `code`.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32 = 1
    var description: String { self.message }
}

/// Runs a command body, turning our typed errors into one line on stderr and an exit code.
func reportingErrors(exitCode: Int32 = 1, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIFailure {
        printError(error.message)
        throw ExitCode(error.code)
    } catch let error as SSHKeyError {
        printError(error.message)
        throw ExitCode(exitCode)
    } catch let error as SSHAgentError {
        printError(error.message)
        throw ExitCode(exitCode)
    } catch let error as any MalformedCredential {
        // CRTAuthError, JWTError, SignatureSchemeError.
        printError(error.message)
        throw ExitCode(exitCode)
    } catch let error as AuthCoreError {
        printError(error.message)
        throw ExitCode(exitCode)
    } catch let error as GatewayConfigurationError {
        printError(error.message)
        throw ExitCode(exitCode)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("crtauth: \(message)\n".utf8))
}

/// Largest key or signature file we read (a key file is a few KB).
let maximumSmallFileLength = 1024 * 1024

/// Reads a small text file, or stdin for `-`.
func readSmallFile(_ path: String) throws -> String {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readData(ofLength: maximumSmallFileLength + 1)
    } else {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        data = handle.readData(ofLength: maximumSmallFileLength + 1)
    }
    guard data.count <= maximumSmallFileLength else {
        throw CLIFailure(message: "\(path) is larger than \(maximumSmallFileLength) bytes; not a key or signature file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw CLIFailure(message: "\(path) is not text")
    }
    return text
}

/// The name ssh-keygen shows for a key type (`ED25519`, `ECDSA-SK`, `RSA-CERT`…).
func displayName(_ identity: SSHPublicIdentity) -> String {
    let base: String = switch identity.publicKey.type {
    case .ed25519: "ED25519"
    case .rsa: "RSA"
    case .securityKeyEd25519: "ED25519-SK"
    case .securityKeyECDSAP256: "ECDSA-SK"
    default: "ECDSA"
    }
    if case .certificate = identity { return base + "-CERT" }
    return base
}

/// Loads a private key file, asking for its passphrase when it is encrypted.
func loadPrivateKey(_ path: String, text: String) throws -> SSHPrivateKey {
    do {
        return try SSHPrivateKey(fileContents: text)
    } catch let error as SSHKeyError where error.code == .passphraseRequired {
        let passphrase = try readPassphrase(prompt: "Enter passphrase for \(path): ")
        return try SSHPrivateKey(fileContents: text, passphrase: passphrase)
    }
}

/// Every public identity in `text`: `.pub`/`-cert.pub`/`authorized_keys` lines, a SPKI PEM, or
/// the public half of a private key file (read without decrypting when possible).
func publicIdentities(in text: String) throws -> [(identity: SSHPublicIdentity, comment: String)] {
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        // An unencrypted file also gives the comment; an encrypted one only its public header.
        if !SSHPrivateKey.isEncryptedOpenSSHFile(text), let key = try? SSHPrivateKey(fileContents: text) {
            return [(.key(key.publicKey), key.comment)]
        }
        return [(.key(try SSHPrivateKey.publicKey(ofOpenSSHFile: text)), "")]
    }
    if text.contains("-----BEGIN PUBLIC KEY-----") {
        return [(.key(try SSHPublicKey(spkiPEM: text)), "")]
    }
    if text.contains("PRIVATE KEY-----") {
        let key = try SSHPrivateKey(fileContents: text)
        return [(.key(key.publicKey), key.comment)]
    }
    var out: [(SSHPublicIdentity, String)] = []
    for (number, rawLine) in text.split(separator: "\n").enumerated() {
        let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty || line.hasPrefix("#") { continue }
        do {
            let parts = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
            if let first = parts.first, SSHKeyType(name: first) == nil, !first.hasSuffix("-cert-v01@openssh.com") {
                // An authorized_keys line with options.
                let entry = try AuthorizedKey(line: line)
                out.append((.key(entry.key), entry.comment))
            } else {
                let identity = try SSHPublicIdentity(openSSHLine: line)
                out.append((identity, parts.count > 2 ? String(parts[2]) : ""))
            }
        } catch let error as SSHKeyError {
            throw CLIFailure(message: "line \(number + 1): \(error.message)")
        }
    }
    guard !out.isEmpty else { throw CLIFailure(message: "no public key found in the input") }
    return out
}

/// JSON text of a value with sorted keys.
func jsonText(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}

/// The agent named by `SSH_AUTH_SOCK`.
func environmentAgent() throws -> SSHAgentClient { try SSHAgentClient() }
