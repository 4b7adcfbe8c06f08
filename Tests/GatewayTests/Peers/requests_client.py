# Drives the real requests-crtauth 0.4 plugin (Python 2.7) against a server, for the gateway
# tests. Signs with the ssh-agent at SSH_AUTH_SOCK (crtauth's AgentSigner).
#   requests_client.py URL USER VERSION [METHOD [BODY]]
# Prints the status on the first line, then the response body.
import sys

import requests
import requests_crtauth


def main():
    url, user, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
    method = sys.argv[4] if len(sys.argv) > 4 else 'GET'
    body = sys.argv[5] if len(sys.argv) > 5 else None
    auth = requests_crtauth.HttpCrtAuth(username=user, version=version)
    response = requests.request(method, url, auth=auth, data=body, timeout=30)
    sys.stdout.write('%d\n' % response.status_code)
    sys.stdout.write(response.content)
    # A second request reuses the token without a new handshake.
    again = requests.request(method, url, auth=auth, data=body, timeout=30)
    sys.stdout.write('\nsecond %d handshakes %d\n' % (again.status_code, len(again.history)))


if __name__ == '__main__':
    main()
