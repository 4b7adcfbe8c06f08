import NIOSSL
import Synchronization

/// The certificate chain and key `crtauth serve` presents, replaceable while it runs: every TLS
/// handshake takes the pair that is current when its ClientHello arrives (swift-nio-ssl's
/// context callback), so a reload changes new connections only and drops none.
final class TLSCertificates: Sendable {
    /// TLS 1.2's suites: forward secrecy and AEAD only (TLS 1.3's are BoringSSL's fixed set).
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    private struct Pair: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    let certificatePath: String
    let keyPath: String
    private let current: Mutex<Pair>

    init(certificate: String, key: String) throws {
        self.certificatePath = certificate
        self.keyPath = key
        self.current = Mutex(try Self.load(certificate: certificate, key: key))
    }

    /// Reads the pair again; a pair that does not load (or whose key is not the certificate's)
    /// leaves the current one in place and throws.
    func reload() throws {
        let pair = try Self.load(certificate: self.certificatePath, key: self.keyPath)
        self.current.withLock { $0 = pair }
    }

    /// The server's TLS settings: TLS 1.2 or later, modern suites, the current pair per handshake.
    var configuration: TLSConfiguration {
        let pair = self.current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.cipherSuites
        configuration.sslContextCallback = { [self] _, promise in
            let pair = self.current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(certificate: String, key: String) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw CLIFailure(message: "cannot read the TLS certificate \(certificate) (PEM, leaf first): \(error)")
        }
        guard !chain.isEmpty else { throw CLIFailure(message: "the TLS certificate file \(certificate) holds no PEM certificate") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw CLIFailure(message: "cannot read the TLS key \(key) (PEM): \(error)")
        }
        // BoringSSL refuses, while making a context, a key that is not the leaf certificate's.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
        } catch {
            throw CLIFailure(message: "the TLS key \(key) is not the key of the certificate \(certificate): \(error)")
        }
        return Pair(chain: chain, key: privateKey)
    }
}
