import Foundation
import TestSupport

/// The upstream behind the gateway: nginx, one process (no master, so that SIGKILL kills it
/// whole), answering every request with the user the gateway named in X-Authenticated-User.
final class NginxUpstream: @unchecked Sendable {
    // @unchecked: `child` is replaced only by kill()/start(), which the fault thread serialises.
    let port: Int
    private let directory: TemporaryDirectory
    private let binary: String
    private var child: ChildProcess?

    init(binary: String) throws {
        self.binary = binary
        self.directory = try TemporaryDirectory()
        self.port = try freePort()
        _ = try self.directory.write("nginx.conf", """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(self.directory.file("nginx.pid"));
            error_log \(self.directory.file("error.log")) error;
            events { worker_connections 4096; }
            http {
                access_log off;
                default_type text/plain;
                keepalive_requests 1000000;
                client_body_temp_path \(self.directory.path);
                proxy_temp_path \(self.directory.path);
                fastcgi_temp_path \(self.directory.path);
                uwsgi_temp_path \(self.directory.path);
                scgi_temp_path \(self.directory.path);
                server {
                    listen 127.0.0.1:\(self.port);
                    location / { return 200 "$http_x_authenticated_user"; }
                }
            }
            """)
        try self.start()
    }

    var url: String { "http://127.0.0.1:\(self.port)" }

    /// Starts nginx and waits until it accepts connections.
    func start() throws {
        let child = try ChildProcess(self.binary, ["-p", self.directory.path, "-c", self.directory.file("nginx.conf")], output: self.directory.file("nginx.out"))
        self.child = child
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if canConnect(port: self.port) { return }
            usleep(20_000)
        }
        child.stop()
        throw ProcessError(message: "nginx did not start: \((try? self.directory.read("error.log")) ?? "")")
    }

    /// SIGKILL: the upstream dies with requests in flight.
    func kill() {
        self.child?.kill(signal: SIGKILL)
        self.child = nil
    }

    func stop() {
        self.child?.stop()
        self.child = nil
    }

    deinit { self.stop() }
}
