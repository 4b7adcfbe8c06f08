# An upstream for the gateway's proxy tests: answers every request with a JSON echo of its
# method, path (with query), headers and body. Prints "port N" once listening on loopback.
# /redirect/STATUS?to=URL answers STATUS with Location: URL, /loop redirects to itself, and
# /slow answers after 5 seconds (or ?seconds=S), /cookies sets two cookies, /chunked answers in
# three chunks, /status/N answers N without a body. /sink reads its body slowly (64 KiB
# every 5 ms) and answers with the byte count; /source?bytes=N answers N bytes at full speed. With CERT KEY arguments it speaks HTTPS with that pair.
# A WebSocket handshake (the websockets library's own protocol code, on this server's socket) is
# accepted, with subprotocol echo.v1 when offered: the first message is the JSON echo of the
# handshake request, then every message comes back as sent. /ws-refused refuses with 403.
import json
import ssl
import sys
import time
from urllib.parse import parse_qs, urlsplit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from websockets.frames import Opcode
from websockets.server import ServerProtocol


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket()
        path = urlsplit(self.path).path
        if path in ("/sink", "/source"):
            return self.stream(path)
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path.startswith("/redirect/") or path == "/loop":
            status = int(path.split("/")[2]) if path != "/loop" else 302
            target = parse_qs(urlsplit(self.path).query).get("to", ["/"])[0] if path != "/loop" else "/loop"
            self.send_response(status)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/slow":
            print("slow request under way", flush=True)  # tests wait for this line
            time.sleep(float(parse_qs(urlsplit(self.path).query).get("seconds", ["5"])[0]))
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for part in (b"first ", b"second ", b"third"):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            return
        if path.startswith("/status/"):
            self.send_response(int(path.split("/")[2]))
            self.end_headers()
            return
        if path == "/cookies":
            self.send_response(200)
            self.send_header("Set-Cookie", "a=1; Path=/; HttpOnly")
            self.send_header("Set-Cookie", "b=2; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Upstream", "echo")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def stream(self, path):
        count = 0
        if path == "/sink":
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
                count += len(chunk)
                time.sleep(0.005)
            payload = json.dumps({"bytes": count}).encode()
        else:
            payload = b""
            count = int(parse_qs(urlsplit(self.path).query).get("bytes", ["0"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload) if path == "/sink" else count))
        self.end_headers()
        if path == "/sink":
            self.wfile.write(payload)
            return
        block = b"x" * 65536
        while count:
            self.wfile.write(block[:min(count, len(block))])
            count -= min(count, len(block))

    def websocket(self):
        protocol = ServerProtocol(select_subprotocol=lambda _, offered: "echo.v1" if "echo.v1" in offered else None)
        # The protocol reads the handshake itself: the head as it came, rebuilt from what
        # http.server parsed.
        head = [self.requestline] + ["%s: %s" % field for field in self.headers.items()]
        protocol.receive_data(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        [request] = protocol.events_received()
        if urlsplit(self.path).path == "/ws-refused":
            response = protocol.reject(403, "no WebSocket here\n")
        else:
            response = protocol.accept(request)
        protocol.send_response(response)
        if response.status_code == 101:
            protocol.send_text(json.dumps({
                "method": self.command, "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()], "body": "",
            }).encode())
        self.flush_protocol(protocol)
        self.close_connection = True
        if response.status_code != 101:
            return
        connection = self.connection
        while True:
            data = connection.recv(65536)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for frame in protocol.events_received():
                if frame.opcode == Opcode.TEXT:
                    protocol.send_text(frame.data)
                elif frame.opcode == Opcode.BINARY:
                    protocol.send_binary(frame.data)
            self.flush_protocol(protocol)
            if not data or protocol.close_expected():
                return

    def flush_protocol(self, protocol):
        for chunk in protocol.data_to_send():
            if chunk:
                self.connection.sendall(chunk)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
