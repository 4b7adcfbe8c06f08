# The real Python crtauth server for the client tests: crtauth 0.99.4's CrtauthMiddleware around
# a /whoami WSGI app, served by wsgiref on loopback (Python 2.7). Prints "port N" when ready.
#   python_server.py SECRET KEY_DIR [LOWEST_VERSION]
import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from crtauth import key_provider, server, wsgi


def whoami(environ, start_response):
    body = json.dumps({"user": environ.get("crtauth.username")})
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


lowest = int(sys.argv[3]) if len(sys.argv) > 3 else 0
auth = server.AuthServer(sys.argv[1], key_provider.FileKeyProvider(sys.argv[2]), "127.0.0.1", lowest_supported_version=lowest)
httpd = make_server("127.0.0.1", 0, wsgi.CrtauthMiddleware(whoami, auth), handler_class=Quiet)
sys.stdout.write("port %d\n" % httpd.server_port)
sys.stdout.flush()
httpd.serve_forever()
