#!/usr/bin/env bash
# `make container-test`: the image ($IMAGE, built by `make image`), run as an operator runs it.
#
# Every container runs with a read-only root, no tmpfs on /tmp (podman's --read-only-tmpfs=false),
# as uid 10001, with a state volume at /var/lib/bookyflow. Steps, each printed with its result:
#   1. `--help` exits 0;
#   2. `demo` (the embedded sandbox inside the container) exits 0 and prints its summary;
#   3. a sandbox in one container and the worker (`run`) in a second, over loopback (--network
#      host): `healthcheck` (podman exec, and the image's own HEALTHCHECK) is 0 while it runs,
#      /readyz answers 200 and /metrics serves bookyflow_ series;
#   4. `podman stop` ends the worker with exit code 0 after a drain (`worker.drained` logged);
#   5. nothing was written outside the state volume (`podman diff` on the worker container);
#   6. `healthcheck` against the same state volume, in a new container, is 1 once the worker is gone;
#   7. the image holds none of the host's pip configuration (mounted into the build, not copied).
# Containers, volumes and files it makes are removed at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/podman/containers.conf}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
image="${IMAGE:-bookyflow-worker:$version}"
run_id="bookyflow-ct-$$"
state="$run_id-state"
sandbox_data="$run_id-sandbox"
client_secret="ct-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
work="$(mktemp -d)"
failures=0
started=$(date +%s)

cleanup() {
    podman rm --force --time 0 "$run_id-worker" "$run_id-sandbox" >/dev/null 2>&1 || true
    podman volume rm --force "$state" "$sandbox_data" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Operator-like runs: read-only root, no tmpfs anywhere, uid 10001, no healthcheck timer.
hardened=(--read-only --read-only-tmpfs=false --user 10001 --cap-drop ALL
    --security-opt no-new-privileges --no-healthcheck)
# podman without systemd cannot arm the HEALTHCHECK's timer; it says so on stderr, harmlessly.
quiet_systemd() { grep -v 'unable to get systemd connection' >&2 || true; }

step() { printf '%-4s %-68s %s\n' "$1" "$2" "${3:-}"; }
pass() { step ok "$1" "${2:-}"; }
fail() {
    step FAIL "$1" "${2:-}"
    failures=$((failures + 1))
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# HTTP status of a loopback URL ("000" when nothing answers).
http_status() {
    python3 - "$1" <<'EOF'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        print(response.status)
except urllib.error.HTTPError as error:
    print(error.code)
except OSError:
    print("000")
EOF
}
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local seconds="$1"
    shift
    local deadline=$(($(date +%s) + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
        sleep 1
    done
}
answers() { [ "$(http_status "$1")" != 000 ]; }
answers_200() { [ "$(http_status "$1")" = 200 ]; }
show_logs() { podman logs --tail "${2:-20}" "$1" 2>&1 | sed 's/^/     | /'; }

podman image exists "$image" || { echo "container-test: no image $image; run \`make image\` first" >&2; exit 1; }
echo "container-test: $image ($(podman --version), $(runc --version | head -n 1))"
podman volume create "$state" >/dev/null
podman volume create "$sandbox_data" >/dev/null

# 1. --help
if out="$(podman run --rm "${hardened[@]}" -v "$state:/var/lib/bookyflow" "$image" --help 2>&1)" &&
    grep -q healthcheck <<<"$out"; then
    pass "--help exits 0 and lists the commands"
else
    fail "--help exits 0 and lists the commands" "$(head -n 3 <<<"$out")"
fi

# 2. demo, without --state-dir: its throw-away state goes under the state volume.
t0=$(date +%s)
if out="$(podman run --rm "${hardened[@]}" -v "$state:/var/lib/bookyflow" "$image" \
    --log-level WARNING demo --seconds 8 2>&1)" && grep -q "what the worker synced" <<<"$out"; then
    pass "demo against the sandbox inside the container exits 0" "($(($(date +%s) - t0)) s)"
else
    fail "demo against the sandbox inside the container exits 0" "$(tail -n 5 <<<"$out")"
fi

# 3. the sandbox and the worker in two containers, over loopback.
api_port="$(free_port)"
health_port="$(free_port)"
# The secret as Kubernetes mounts one: a read-only directory, the file readable by uid 10001 only.
mkdir -p "$work/secrets"
printf '%s' "$client_secret" >"$work/secrets/client_secret"
chown -R 10001:10001 "$work/secrets"
chmod 0500 "$work/secrets"
chmod 0400 "$work/secrets/client_secret"
python3 - config/inventory.example.json "$work/inventory.json" <<'EOF'
import json, sys
# The example without image URLs: its vendor CDN does not exist, and nothing here leaves loopback.
document = json.load(open(sys.argv[1], encoding="utf-8"))
for prop in document["properties"]:
    (prop.get("content") or {}).pop("images", None)
json.dump(document, open(sys.argv[2], "w", encoding="utf-8"))
EOF
chmod 0711 "$work"
chmod 0644 "$work/inventory.json"
podman run -d --name "$run_id-sandbox" --network host "${hardened[@]}" \
    -v "$sandbox_data:/var/lib/bookyflow" "$image" \
    sandbox --host 127.0.0.1 --port "$api_port" --db /var/lib/bookyflow/sandbox.db \
    --client "demo:$client_secret:read,write,delete" >/dev/null
if wait_for 60 answers "http://127.0.0.1:$api_port/"; then
    pass "sandbox container answers on 127.0.0.1:$api_port"
else
    fail "sandbox container answers on 127.0.0.1:$api_port"
    show_logs "$run_id-sandbox"
fi
podman run -d --name "$run_id-worker" --network host --read-only --read-only-tmpfs=false \
    --user 10001 --cap-drop ALL --security-opt no-new-privileges --health-interval disable \
    -v "$state:/var/lib/bookyflow" -v "$work/inventory.json:/etc/bookyflow/inventory.json:ro" \
    -v "$work/secrets:/run/secrets/bookyflow:ro" \
    -e BOOKYFLOW_API_URL="http://127.0.0.1:$api_port/bookyflow/api" \
    -e BOOKYFLOW_ALLOW_INSECURE_HTTP=true \
    -e BOOKYFLOW_CLIENT_ID=demo \
    -e BOOKYFLOW_CLIENT_SECRET_FILE=/run/secrets/bookyflow/client_secret \
    -e BOOKYFLOW_CHANNEL_NAME=container-test \
    -e BOOKYFLOW_INVENTORY=/etc/bookyflow/inventory.json \
    -e BOOKYFLOW_HEALTH_HOST=127.0.0.1 -e BOOKYFLOW_HEALTH_PORT="$health_port" \
    -e BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S=5 -e BOOKYFLOW_JOBS__ARI__INTERVAL_S=5 \
    -e BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S=5 -e BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S=5 \
    "$image" run 2> >(quiet_systemd) >/dev/null
t0=$(date +%s)
if wait_for 60 podman exec "$run_id-worker" bookyflow-worker healthcheck; then
    pass "healthcheck (podman exec) is 0 while the worker runs" "($(($(date +%s) - t0)) s)"
else
    fail "healthcheck (podman exec) is 0 while the worker runs"
    show_logs "$run_id-worker"
fi
# `podman healthcheck run` exits 0 and records the verdict in the container's health state.
verdict="$(podman healthcheck run "$run_id-worker" 2>&1 | grep -v 'systemd connection' || true)"
if [ "$(podman inspect --format '{{.State.Health.Status}}' "$run_id-worker")" = healthy ]; then
    pass "the image's HEALTHCHECK (docker format) reports healthy"
else
    fail "the image's HEALTHCHECK (docker format) reports healthy" "$verdict: $(podman inspect \
        --format '{{json .Config.Healthcheck}} {{json .State.Health}}' "$run_id-worker" | head -c 600)"
fi
if wait_for 60 answers_200 "http://127.0.0.1:$health_port/readyz"; then
    pass "/readyz answers 200 on 127.0.0.1:$health_port"
else
    fail "/readyz answers 200 on 127.0.0.1:$health_port" \
        "$(http_status "http://127.0.0.1:$health_port/readyz")"
fi
metrics="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
    "http://127.0.0.1:$health_port/metrics" 2>/dev/null || true)"
if grep -q '^bookyflow_' <<<"$metrics"; then
    pass "/metrics serves $(grep -c '^bookyflow_' <<<"$metrics") bookyflow_ samples"
else
    fail "/metrics serves bookyflow_ samples"
fi

# 4. podman stop: SIGTERM, a drain, exit code 0.
t0=$(date +%s)
podman stop --time 40 "$run_id-worker" 2> >(quiet_systemd) >/dev/null
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$run_id-worker")"
logs="$(podman logs "$run_id-worker" 2>&1)"
if [ "$exit_code" = 0 ] && grep -q '"worker.drained"' <<<"$logs"; then
    pass "podman stop: drained, exit code 0" "($(($(date +%s) - t0)) s)"
else
    fail "podman stop: drained, exit code 0" "exit code $exit_code"
    show_logs "$run_id-worker" 30
fi
if grep -q "$client_secret" <<<"$logs"; then
    fail "the client secret never appears in the worker's logs"
else
    pass "the client secret never appears in the worker's logs"
fi

# 5. podman diff: only what podman itself adds (the mount points of the test's own -v mounts, the
# files it manages in /etc and /run) and nothing under the state volume, which diff does not show.
podman_own='^[AC] /(etc|run|run/secrets|run/secrets/bookyflow|etc/bookyflow|etc/bookyflow/inventory\.json'
podman_own+='|run/\.containerenv|etc/(hosts|hostname|resolv\.conf|passwd|group))$'
changes="$(podman diff "$run_id-worker" | grep -vE "$podman_own" || true)"
if [ -z "$changes" ]; then
    pass "nothing written outside the state volume (podman diff)"
else
    fail "nothing written outside the state volume (podman diff)" "$(tr '\n' ' ' <<<"$changes")"
fi
written="$(podman run --rm "${hardened[@]}" -v "$state:/var/lib/bookyflow" --entrypoint ls "$image" \
    -A /var/lib/bookyflow 2>&1 | tr '\n' ' ')"
step info "state volume holds: $written"

# 6. healthcheck after the worker is gone, from a new container on the same volume.
rc=0
out="$(podman run --rm "${hardened[@]}" -v "$state:/var/lib/bookyflow" "$image" healthcheck 2>&1)" || rc=$?
if [ "$rc" = 1 ]; then
    pass "healthcheck in a new container after the stop is 1"
else
    fail "healthcheck in a new container after the stop is 1" "got $rc: $(tail -n 1 <<<"$out")"
fi

# 7. The host's pip configuration was mounted into the build, never copied into the image.
copied="$(podman run --rm --read-only --read-only-tmpfs=false --user 0 --no-healthcheck \
    --entrypoint sh "$image" -c \
    'for f in /etc/pip.conf /etc/xdg/pip/pip.conf /root/.config/pip/pip.conf /opt/venv/pip.conf; do
         [ -s "$f" ] && echo "$f"; done; true' 2>&1)"
if [ -z "$copied" ]; then
    pass "no pip configuration inside the image"
else
    fail "no pip configuration inside the image" "$copied"
fi

echo "container-test: $failures failed, $(($(date +%s) - started)) s"
[ "$failures" = 0 ]
