"""asymmetric_jwt_auth 1.3.0's UntrustedToken.verify rate (what its middleware runs per request,
after the user lookup), for EdDSA and RS512 (RSA-2048): prints "ALG RATE" lines, the best of
several rounds of 200 fresh tokens.
Usage: jwt_verify_bench.py [SECONDS]"""
import secrets
import sys
import time

import jwt
from django.conf import settings

settings.configure(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
import django  # noqa: E402

django.setup()
from asymmetric_jwt_auth.keys import Ed25519PrivateKey, RSAPrivateKey  # noqa: E402
from asymmetric_jwt_auth.tokens import UntrustedToken  # noqa: E402

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
for name, key in (("EdDSA", Ed25519PrivateKey.generate()), ("RS512", RSAPrivateKey.generate(2048))):
    public = key.public_key
    headers = {"kid": public.fingerprint}

    def make():
        # What Token.sign makes, signed with the loaded key (Token.sign re-reads the PEM each time).
        claims = {"username": "alice", "time": int(time.time()), "nonce": secrets.token_urlsafe(8)}
        return jwt.encode(claims, key._key, algorithm=name, headers=headers)

    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        tokens = [make() for _ in range(200)]
        start = time.perf_counter()
        for token in tokens:
            assert UntrustedToken(token).verify(public) is not None
        best = max(best, len(tokens) / (time.perf_counter() - start))
    print(name, round(best))
