# Raw-socket clients for the gateway's hostile-client tests (loopback only).
#   silent PORT             connect, send nothing; prints the seconds until the server closes
#   dribble PORT            send a request head one byte a second; prints the seconds until closed
#   dribble-body PORT       a POST whose 8-byte body comes a byte every 0.4 s; prints the status line
#   idle PORT               one request, then nothing; prints the status and the seconds until closed
#   hold PORT N [CA]        hold N idle connections, then open one more: prints "refused" if it is
#                           closed at once, then the status a held connection still gets (over
#                           TLS trusting CA, when given)
#   send PORT FILE          send FILE's bytes; prints the first response line (or "closed")
#   statuses PORT FILE      send FILE's bytes; prints the status line of every response read
#                           until the server closes or 3 s pass quietly
#   twice PORT FILE SECONDS send FILE's request, read its answer, wait SECONDS, send it again on
#                           the same connection; prints both status lines ("closed" if it was)
#   raw PORT FILE           send FILE's bytes; prints every byte read, in base64, until the server
#                           closes or 3 s pass quietly
#   battery PORT FILE       FILE is JSON: [[name, request as base64], …]; each request on a
#                           connection of its own; prints "name<TAB>status<TAB>body length<TAB>body"
#                           per case (status "closed" when no answer came)
import base64
import json
import re
import select
import socket
import sys
import time


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def closed_after(sock, start):
    sock.settimeout(60)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    return time.monotonic() - start


def status_line(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return "closed"
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def read_until_quiet(sock):
    """Every byte the server sends until it closes or 3 s pass without any."""
    sock.settimeout(3)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def response(sock):
    """One response: its head and its body (as long as Content-Length says); b"" when none."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int((re.search(rb"(?i)\r\ncontent-length: *(\d+)", head) or [0, b"0"])[1])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body[:length]


mode, port = sys.argv[1], int(sys.argv[2])
if mode == "silent":
    sock = connect(port)
    print("%.1f" % closed_after(sock, time.monotonic()))
elif mode == "dribble":
    sock = connect(port)
    start = time.monotonic()
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
            sock.send(bytes([byte]))
            # A second between bytes, or less if the server closes meanwhile.
            if select.select([sock], [], [], 1)[0]:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    print("%.1f" % closed_after(sock, start))
elif mode == "idle":
    sock = connect(port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    line = status_line(sock)
    print(line, "%.1f" % closed_after(sock, time.monotonic()))
elif mode == "hold":
    count = int(sys.argv[3])
    held = [connect(port) for _ in range(count)]
    time.sleep(0.5)
    extra = connect(port)
    extra.settimeout(2)
    try:
        print("refused" if extra.recv(1) == b"" else "answered")
    except socket.timeout:
        print("accepted")
    except ConnectionResetError:
        print("refused")
    first = held[0]
    if len(sys.argv) > 4:
        import ssl
        context = ssl.create_default_context(cafile=sys.argv[4])
        context.set_alpn_protocols(["http/1.1"])
        first = context.wrap_socket(first, server_hostname="localhost")
    first.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    print(status_line(first))
elif mode == "send":
    sock = connect(port)
    with open(sys.argv[3], "rb") as f:
        try:
            sock.sendall(f.read())
        except (BrokenPipeError, ConnectionResetError):
            pass
    try:
        print(status_line(sock))
    except ConnectionResetError:
        print("closed")
elif mode == "raw":
    sock = connect(port)
    with open(sys.argv[3], "rb") as f:
        sock.sendall(f.read())
    data = read_until_quiet(sock)
    print(base64.b64encode(data).decode())
elif mode == "statuses":
    sock = connect(port)
    with open(sys.argv[3], "rb") as f:
        sock.sendall(f.read())
    data = read_until_quiet(sock)
    # Bodies here end without a line break, so find each status line where it starts.
    for match in re.finditer(rb"HTTP/1\.1 \d{3} [^\r]*", data):
        print(match.group().decode())
elif mode == "twice":
    sock = connect(port)
    with open(sys.argv[3], "rb") as f:
        request = f.read()
    for attempt in range(2):
        if attempt:
            time.sleep(float(sys.argv[4]))
        try:
            sock.sendall(request)
            head, _ = response(sock)
            print(head.split(b"\r\n", 1)[0].decode() if head else "closed")
        except (BrokenPipeError, ConnectionResetError):
            print("closed")
elif mode == "dribble-body":
    sock = connect(port)
    sock.sendall(b"POST /slow-body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n")
    for byte in b"12345678":
        time.sleep(0.4)
        sock.send(bytes([byte]))
    print(status_line(sock))
elif mode == "battery":
    with open(sys.argv[3]) as f:
        cases = json.load(f)
    for name, request in cases:
        sock = connect(port)
        sock.settimeout(10)
        head, body = b"", b""
        try:
            sock.sendall(base64.b64decode(request))
            head, body = response(sock)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        sock.close()
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else "closed"
        text = body.decode("utf-8", "replace").replace("\t", " ").replace("\n", " ").strip()
        print("%s\t%s\t%d\t%s" % (name, status, len(body), text))
