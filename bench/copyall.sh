#!/bin/bash
# Baseline for bench/redeploy.py: the seed's hand-written redeploy script
# (go build -> docker build -> docker service rm -> docker service create),
# parameterised so it can run beside the real services without touching them.
#
#   SRC=/tmp/x/accountservice SERVICE=bench-copyall PORT=16768 bash bench/copyall.sh
#
# Differences from the seed, all forced by this machine:
#   - FROM scratch instead of iron/base (no image can be pulled here);
#   - --publish mode=host and --endpoint-mode dnsrr (no IPVS, so the ingress
#     routing mesh never answers here);
#   - PORT is passed to the app, and a bounded curl loop waits until it serves.
set -euo pipefail

: "${SRC:?SRC must be the Go service directory to build}"
SERVICE=${SERVICE:-bench-copyall}
PORT=${PORT:-16768}
NETWORK=${NETWORK:-my_network}
IMAGE=${IMAGE:-bench/$SERVICE}
WAIT_SECONDS=${WAIT_SECONDS:-60}

# 1. Build the static Linux binary in the service directory, as the seed did.
cd "$SRC"
GOOS=linux CGO_ENABLED=0 go build -o "$SERVICE-linux-amd64" .
echo "built $(pwd)"

# 2. Build the image. The seed's context was the whole service directory
#    (sources and binary); keep that, in a temp dir with a FROM scratch Dockerfile.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -a "$SRC/." "$context/"
cat > "$context/Dockerfile" <<EOF
FROM scratch
EXPOSE $PORT
ADD $SERVICE-linux-amd64 /
CMD ["/$SERVICE-linux-amd64"]
EOF
docker build -t "$IMAGE" "$context"

# 3. Replace the service: remove it (it may not exist), then create it afresh.
docker service rm "$SERVICE" || true
# --detach: the seed's Docker (before 17.10) returned at once; newer CLIs would add a 5 s
# "verify" wait that the seed never had. The curl loop below waits for serving instead.
docker service create --detach --name "$SERVICE" --network "$NETWORK" \
  --publish "mode=host,target=$PORT,published=$PORT" -e "PORT=$PORT" \
  --endpoint-mode dnsrr "$IMAGE"

# 4. Wait until the new task runs and answers (bounded). Checking the task first matters:
# the removed service's container keeps answering for a moment after `service rm`.
url="http://127.0.0.1:$PORT/accounts/10000"
deadline=$((SECONDS + WAIT_SECONDS))
until docker service ps "$SERVICE" --filter desired-state=running --format '{{.CurrentState}}' | grep -q '^Running' &&
  curl -fsS --max-time 2 "$url"; do
  if ((SECONDS >= deadline)); then
    echo "copyall.sh: $url did not answer within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 0.2
done
echo
echo "copyall.sh: $SERVICE is serving on $url"
