# Test driver for the real crtauth 0.99.4 (Python 2.7), used by the Swift interop tests.
# Each command prints its result on stdout; errors go to stderr with exit status 1.
#   request USER
#   respond CHALLENGE SERVER_NAME (--key PEMFILE | --agent)
#   challenge SECRET KEYDIR SERVER_NAME USER VERSION NOW
#   token SECRET KEYDIR SERVER_NAME RESPONSE NOW
#   validate SECRET TOKEN NOW
#   bench-validate SECRET TOKEN NOW SECONDS      (prints validations per second)
import sys
import time

from crtauth import client, key_provider, server, ssh


def make_server(secret, keydir, server_name, now):
    return server.AuthServer(secret, key_provider.FileKeyProvider(keydir), server_name,
                             now_func=lambda: float(now))


def main(args):
    command = args[0]
    if command == "request":
        print(client.create_request(args[1]))
    elif command == "respond":
        if args[3] == "--agent":
            signer = ssh.AgentSigner()
        else:
            signer = ssh.SingleKeySigner(open(args[4]).read())
        print(client.create_response(args[1], args[2], signer))
    elif command == "challenge":
        s = make_server(args[1], args[2], args[3], args[6])
        print(s.create_challenge(args[4], int(args[5])))
    elif command == "token":
        s = make_server(args[1], args[2], args[3], args[5])
        print(s.create_token(args[4]))
    elif command == "validate":
        s = make_server(args[1], "/nonexistent", "localhost", args[3])
        print(s.validate_token(args[2]))
    elif command == "bench-validate":
        s = make_server(args[1], "/nonexistent", "localhost", args[3])
        token, seconds = args[2], float(args[4])
        count, start = 0, time.time()
        while time.time() - start < seconds:
            for _ in range(1000):
                s.validate_token(token)
            count += 1000
        print(count / (time.time() - start))
    else:
        raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except Exception as e:
        sys.stderr.write("%s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
