import ArgumentParser
import AsyncHTTPClient
import CRTAuthClient
import Foundation
import NIOCore
import NIOHTTP1

/// `crtauth curl`: one HTTP request with crtauth, curl's common flags.
struct CurlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curl",
        abstract: "Make an HTTP request authenticated with crtauth (curl's common flags).",
        discussion: """
            Handshakes when there is no fresh cached token (or the server answers 401), then sends the request \
            and streams the answer to standard output. With --scheme jwt, signature or serveradmin it signs the \
            request itself instead (asymmetric_jwt_auth JWT, RFC 9421, serveradmin headers): no handshake, no token.
            Exit codes: 0 success; 22 an HTTP status of 400 or more with --fail; 67 authentication failed \
            (no agent or key, key not registered, server name mismatch, refused); 7 the server cannot be reached; \
            28 timeout; 1 other errors.
            """
    )
    @Option(name: .customShort("X"), help: "The request method. Default GET, or POST with -d.") var method: String?
    @Option(name: .customShort("H"), help: "An extra header, 'Name: value' (repeatable).") var headers: [String] = []
    @Option(name: [.customShort("d"), .customLong("data")], help: "Request body; @FILE reads a file, @- standard input.") var data: String?
    @Option(name: .customLong("data-binary"), help: "Same as -d (bodies are always sent as given).") var dataBinary: String?
    @Flag(name: .customShort("i"), help: "Print the status line and headers before the body.") var include = false
    @Option(name: .customShort("o"), help: "Write the body to FILE instead of standard output.") var output: String?
    @Flag(name: .customShort("s"), help: "Silent: no error messages.") var silent = false
    @Flag(name: [.customShort("f"), .customLong("fail")], help: "Exit 22 on an HTTP status of 400 or more, without printing the body.") var fail = false
    @Flag(name: [.customShort("L"), .customLong("location")], help: "Follow redirects (at most \(Redirects.maximum)); credentials go only to the URL's own origin.") var location = false
    @Option(name: [.customShort("w"), .customLong("write-out")], help: "Print this after the answer: %{http_code}, %{time_total}, %{size_download}, %{url_effective}, %{num_redirects}, %{content_type}; \\n for a new line.")
    var writeOut: String?
    @Flag(name: .customShort("v"), help: "Show the handshake and every request and answer head on standard error (credentials as <redacted>).") var verbose = false
    @Option(name: .customLong("scheme"), help: "Authentication scheme: chap (crtauth, default), jwt, signature (RFC 9421) or serveradmin.") var scheme = "chap"
    @Argument(help: "The URL.") var url: String
    @OptionGroup var client: ClientOptions

    /// Largest request body read into memory.
    static let maximumBody = 256 * 1024 * 1024

    func run() async throws {
        let silent = self.silent
        let trace: (@Sendable (String) -> Void)? = self.verbose ? { @Sendable line in FileHandle.standardError.write(Data((line + "\n").utf8)) } : nil
        do {
            guard let scheme = CRTAuthClient.Scheme(rawValue: self.scheme.lowercased()) else {
                throw CLIFailure(message: "unknown --scheme '\(self.scheme)': use chap, jwt, signature or serveradmin")
            }
            let writeOut = try self.writeOut.map { try WriteOut(format: $0) }
            let body = try self.body()
            var request = HTTPClientRequest(url: self.url)
            request.method = HTTPMethod(rawValue: (self.method ?? (body == nil ? "GET" : "POST")).uppercased())
            for header in self.headers {
                guard let colon = header.firstIndex(of: ":") else { throw CLIFailure(message: "-H takes 'Name: value', not '\(header)'") }
                request.headers.add(name: String(header[..<colon]).trimmingCharacters(in: .whitespaces), value: String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            }
            if body != nil, !request.headers.contains(name: "Content-Type") {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            }
            let client = try self.client.makeClient(scheme: scheme, trace: trace)
            let (fail, include, output, follow) = (self.fail, self.include, self.output, self.location)
            let started = ContinuousClock.now
            let prepared = request
            try await runClient(client, maxTime: self.client.maxTime) { client in
                let (response, redirects) = try await Redirects.execute(prepared, body: body, client: client, follow: follow)
                if fail, response.status.code >= 400 {
                    if !silent { printError("the server answered \(response.status.code) \(response.status.reasonPhrase)") }
                    throw ExitCode(ClientExit.httpError)
                }
                let sink = try Sink(path: output)
                if include {
                    var head = "\(response.version) \(response.status.code) \(response.status.reasonPhrase)\r\n"
                    for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
                    sink.write(Array((head + "\r\n").utf8))
                }
                var received = 0
                do {
                    for try await chunk in response.body {
                        received += chunk.readableBytes
                        sink.write(Array(buffer: chunk))
                    }
                } catch {
                    throw CRTAuthClientError(.network, "the answer from \(redirects.url) broke off: \(error)")
                }
                try sink.close()
                if let writeOut {
                    let summary = WriteOut.Summary(
                        httpCode: Int(response.status.code), totalSeconds: (ContinuousClock.now - started) / .seconds(1), downloadSize: received,
                        effectiveURL: redirects.url, redirects: redirects.count, contentType: response.headers.first(name: "Content-Type") ?? "")
                    FileHandle.standardOutput.write(Data(writeOut.render(summary).utf8))
                }
            }
        } catch let failure as CLIFailure {
            if !silent { printError(failure.message) }
            throw ExitCode(failure.code)
        }
    }

    func body() throws -> ByteBuffer? {
        guard let value = self.dataBinary ?? self.data else { return nil }
        guard value.hasPrefix("@") else { return ByteBuffer(string: value) }
        let path = String(value.dropFirst())
        let handle: FileHandle
        if path == "-" {
            handle = .standardInput
        } else {
            guard let file = FileHandle(forReadingAtPath: path) else { throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
            handle = file
        }
        let data = handle.readData(ofLength: Self.maximumBody + 1)
        guard data.count <= Self.maximumBody else { throw CLIFailure(message: "the request body is larger than \(Self.maximumBody) bytes") }
        return ByteBuffer(bytes: data)
    }
}

/// Standard output or a file.
final class Sink {
    let handle: FileHandle
    let isFile: Bool

    init(path: String?) throws {
        if let path, path != "-" {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw CLIFailure(message: "cannot write \(path)")
            }
            (self.handle, self.isFile) = (handle, true)
        } else {
            (self.handle, self.isFile) = (.standardOutput, false)
        }
    }

    func write(_ bytes: [UInt8]) { self.handle.write(Data(bytes)) }

    func close() throws { if self.isFile { try self.handle.close() } }
}
