"""The per-request signing peers of the interop tests (Python 3, the venv of scripts/test).

  keypair TYPE PREFIX        make an ed25519|rsa|p256 key with cryptography: PREFIX.pem (PKCS#8)
                             and PREFIX.pub (OpenSSH line)
  jwt-header PEM USER        print asymmetric_jwt_auth 1.3.0's Authorization value for USER
  django USER PUB...         serve a Django app with asymmetric_jwt_auth's JWTAuthMiddleware on
                             127.0.0.1 (prints "port N"); USER's keys are the OpenSSH lines in
                             the PUB files; GET /whoami answers the user or 401
  httpsig-sign PEM KEYID METHOD URL [BODY]
                             print the headers http-message-signatures 3.0.0 makes (Name: value)
  httpsig-verify PUBPEM KEYID METHOD URL HEADERFILE [BODY]
                             verify our headers with http-message-signatures; prints "ok"
  serveradmin-sign USER URL [BODY]
                             sign with the agent's keys the way adminapi does (paramiko) and
                             print X-Timestamp / X-PublicKeys / X-Signatures
"""
import base64
import datetime
import os
import sys
import tempfile
import time


def keypair(kind, prefix):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    with open(prefix + ".pem", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(prefix + ".pub", "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b" " + kind.encode() + b"\n")
    with open(prefix + ".spki.pem", "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def django_settings(db):
    from django.conf import settings
    settings.configure(
        DEBUG=False,
        SECRET_KEY="interop-test",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "asymmetric_jwt_auth"],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "asymmetric_jwt_auth.middleware.JWTAuthMiddleware",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        USE_TZ=True,
    )
    import django
    django.setup()


def whoami(request):
    from django.http import HttpResponse
    if not request.user.is_authenticated:
        return HttpResponse("anonymous\n", status=401)
    return HttpResponse(request.user.username + "\n")


urlpatterns = []


def serve_django(user, pubs):
    global urlpatterns
    db = os.path.join(tempfile.mkdtemp(), "db.sqlite3")
    django_settings(db)
    from django.urls import path
    urlpatterns = [path("whoami", whoami)]
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from asymmetric_jwt_auth.models import PublicKey
    owner = User.objects.create(username=user)
    for pub in pubs:
        with open(pub) as f:
            PublicKey.objects.create(user=owner, key=f.read().strip())
    from django.core.wsgi import get_wsgi_application
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    print("port %d" % server.server_port, flush=True)
    server.serve_forever()


def jwt_header(pem, user):
    from django.conf import settings
    settings.configure()
    from asymmetric_jwt_auth.keys import PrivateKey
    from asymmetric_jwt_auth.tokens import Token
    with open(pem, "rb") as f:
        key = PrivateKey.load_pem(f.read())
    print(Token(user).create_auth_header(key))


def httpsig_algorithm(key):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from http_message_signatures import algorithms
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return algorithms.ED25519
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return algorithms.ECDSA_P256_SHA256
    return algorithms.RSA_V1_5_SHA256


class Resolver:
    def __init__(self, keyid, private=None, public=None):
        self.keyid, self.private, self.public = keyid, private, public

    def resolve_private_key(self, key_id):
        assert key_id == self.keyid
        return self.private

    def resolve_public_key(self, key_id):
        assert key_id == self.keyid
        return self.public


def prepared(method, url, body, headers=()):
    import requests
    request = requests.Request(method, url, data=body).prepare()
    for name, value in headers:
        request.headers[name] = value
    return request


def httpsig_sign(pem, keyid, method, url, body):
    from cryptography.hazmat.primitives import serialization
    from http_message_signatures import HTTPMessageSigner
    with open(pem, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    request = prepared(method, url, body)
    covered = ["@method", "@target-uri"]
    signer = HTTPMessageSigner(signature_algorithm=httpsig_algorithm(key), key_resolver=Resolver(keyid, private=key))
    signer.sign(request, key_id=keyid, covered_component_ids=covered, created=None, nonce=base64.urlsafe_b64encode(os.urandom(12)).decode(), label="pyhttpsig",
                body=body.encode() if body else None)  # with a body it adds and covers Content-Digest
    for name in ("Content-Digest", "Signature-Input", "Signature"):
        if name in request.headers:
            print("%s: %s" % (name, request.headers[name]))


def httpsig_verify(pubpem, keyid, method, url, headerfile, body):
    from cryptography.hazmat.primitives import serialization
    from http_message_signatures import HTTPMessageVerifier
    with open(pubpem, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    headers = []
    with open(headerfile) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition(": ")
            headers.append((name, value))
    request = prepared(method, url, body, headers)
    verifier = HTTPMessageVerifier(signature_algorithm=httpsig_algorithm(key), key_resolver=Resolver(keyid, public=key))
    results = verifier.verify(request, max_age=datetime.timedelta(minutes=5), require_components=("@method", "@target-uri"), body=body.encode())
    covered = [str(c) for c in results[0].covered_components]
    print("ok " + " ".join(covered))


def serveradmin_sign(body):
    # adminapi/request.py: sign "<timestamp>" or "<timestamp>:<body>" with every agent key.
    import paramiko
    timestamp = int(time.time())
    message = str(timestamp) if not body else "%d:%s" % (timestamp, body)
    agent = paramiko.Agent()
    keys, signatures = [], []
    for key in agent.get_keys():
        signature = key.sign_ssh_data(message.encode(), algorithm="rsa-sha2-512" if key.get_name() == "ssh-rsa" else None)
        keys.append(base64.b64encode(key.asbytes()).decode())
        signatures.append(base64.b64encode(bytes(signature)).decode())
    print("X-Timestamp: %d" % timestamp)
    print("X-PublicKeys: %s" % ",".join(keys))
    print("X-Signatures: %s" % ",".join(signatures))


def main(args):
    command = args[0]
    if command == "keypair":
        keypair(args[1], args[2])
    elif command == "jwt-header":
        jwt_header(args[1], args[2])
    elif command == "django":
        serve_django(args[1], args[2:])
    elif command == "httpsig-sign":
        httpsig_sign(args[1], args[2], args[3], args[4], args[5] if len(args) > 5 else "")
    elif command == "httpsig-verify":
        httpsig_verify(args[1], args[2], args[3], args[4], args[5], args[6] if len(args) > 6 else "")
    elif command == "serveradmin-sign":
        serveradmin_sign(args[1] if len(args) > 1 else "")
    else:
        raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv[1:])
