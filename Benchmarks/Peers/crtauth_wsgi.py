# The Python reference for the gateway benchmark: crtauth 0.99.4's CrtauthMiddleware around a
# /whoami WSGI app, served by gunicorn 19.10 on Python 2.7 (scripts/bench-gateway starts it).
# Environment: CRTAUTH_BENCH_SECRET (base64, the gateway's secret), CRTAUTH_BENCH_KEYS (a
# crtauth key directory), CRTAUTH_BENCH_DISABLED=1 to switch authentication off.
import base64
import json
import os

from crtauth import key_provider, server, wsgi


def whoami(environ, start_response):
    body = json.dumps({"user": environ.get("crtauth.username", "alice"), "scheme": "chap"})
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


secret = base64.b64decode(os.environ["CRTAUTH_BENCH_SECRET"])
auth_server = server.AuthServer(secret, key_provider.FileKeyProvider(os.environ["CRTAUTH_BENCH_KEYS"]), "127.0.0.1")
app = wsgi.CrtauthMiddleware(whoami, auth_server, disabled=os.environ.get("CRTAUTH_BENCH_DISABLED") == "1")
