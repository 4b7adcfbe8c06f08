# A WebSocket client for the gateway's tests (the websockets library's own client):
#   ws_client.py URL [--header NAME:VALUE]... [--ca FILE] [--subprotocol NAME] [--message TEXT]... [--binary BYTES]
# Connects, reads the upstream's first message, sends each message and a binary one of BYTES
# bytes, reads each echo, closes; prints one JSON object: status 101, the subprotocol, the first
# message and whether every echo matched; or, when the handshake is refused, its status and body.
import argparse
import json
import os
import ssl

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--header", action="append", default=[])
parser.add_argument("--ca")
parser.add_argument("--subprotocol", action="append", default=[])
parser.add_argument("--message", action="append", default=[])
parser.add_argument("--binary", type=int, default=0)
arguments = parser.parse_args()

headers = [tuple(header.split(":", 1)) for header in arguments.header]
context = None
if arguments.url.startswith("wss:"):
    context = ssl.create_default_context(cafile=arguments.ca)
try:
    with connect(arguments.url, additional_headers=headers, subprotocols=arguments.subprotocol or None,
                 ssl=context, open_timeout=10, max_size=None) as socket:
        first = json.loads(socket.recv(timeout=10))
        echoed = True
        for message in arguments.message:
            socket.send(message)
            echoed = echoed and socket.recv(timeout=10) == message
        if arguments.binary:
            payload = os.urandom(arguments.binary)
            socket.send(payload)
            echoed = echoed and socket.recv(timeout=30) == payload
        print(json.dumps({"status": 101, "subprotocol": socket.subprotocol, "first": first, "echoed": echoed}))
except InvalidStatus as refusal:
    response = refusal.response
    print(json.dumps({"status": response.status_code, "body": response.body.decode("utf-8", "replace"),
                      "headers": [[k, v] for k, v in response.headers.raw_items()]}))
