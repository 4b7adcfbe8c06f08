# Shared by the gateway benchmarks (sourced): wrk helpers. Needs $work, $seconds and $load.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }
# Requests per second of GET $1 with token $2; only 200s count (a run with errors is refused).
rps() {
    local status out
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: chap:$2" "$1")
    [ "$status" = 200 ] || { echo "GET $1 answered $status, not 200" >&2; return 1; }
    out=$(wrk -t2 -c32 -d"${3:-$seconds}s" -H "Authorization: chap:$2" "$1")
    if grep -q "Non-2xx" <<< "$out"; then echo "GET $1: non-2xx answers under load" >&2; return 1; fi
    awk '/Requests\/sec/ {print int($2)}' <<< "$out"
}

# HandshakeLoad asks the challenges and signs them beforehand: the client's signing is not
# the server's work. wrk then replays the request, and cycles through the 300 responses
# (crtauth is stateless: each valid response yields a token while its challenge lasts, 20 s).
handshakes() { # URL KEY VERSION
    local prepared="$work/prepared" out request challenges tokens
    "$load" "$1" alice "$2" "$3" 300 > "$prepared"
    request=$(awk '$1 == "request" {print $2}' "$prepared")
    out=$(wrk -t2 -c32 -d"${seconds}s" -H "X-CHAP: request:$request" "$1")
    grep -q "Non-2xx" <<< "$out" && { echo "challenges: non-2xx answers" >&2; return 1; }
    challenges=$(awk '/Requests\/sec/ {print int($2)}' <<< "$out")
    out=$(CRTAUTH_RESPONSES="$prepared" wrk -t2 -c32 -d"${seconds}s" -s Benchmarks/Peers/responses.lua "$1")
    grep -q "Non-2xx" <<< "$out" && { echo "tokens: non-2xx answers" >&2; return 1; }
    tokens=$(awk '/Requests\/sec/ {print int($2)}' <<< "$out")
    echo "$(python3 -c "print(int(1 / (1 / $challenges + 1 / $tokens)))") handshakes/s (challenges $challenges/s, tokens $tokens/s)"
}
