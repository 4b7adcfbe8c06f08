"""Holds COUNT keep-alive connections to a server idle: each sends one GET /whoami with the
token and reads its answer, then stays open. Prints `holding N connections` once all are
idle and holds them until killed.

    python3 idle_connections.py HOST PORT COUNT TOKEN
"""
import socket
import sys
import time

host, port, count, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
request = f"GET /whoami HTTP/1.1\r\nHost: {host}\r\nAuthorization: chap:{token}\r\n\r\n".encode()
held = []
batch = 200
started = time.monotonic()
while len(held) < count:
    opened = []
    for _ in range(min(batch, count - len(held))):
        connection = socket.create_connection((host, port), timeout=30)
        connection.sendall(request)
        opened.append(connection)
    for connection in opened:
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                sys.exit(f"connection {len(held)} closed before its answer")
            answer += chunk
        if not answer.startswith(b"HTTP/1.1 200"):
            sys.exit(f"connection {len(held)}: {answer.splitlines()[0]!r}")
        held.append(connection)
print(f"holding {len(held)} connections (opened in {time.monotonic() - started:.1f} s)", flush=True)
while True:
    time.sleep(3600)
