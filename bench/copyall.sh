#!/bin/bash
# Baseline for the benchmarks in bench/: the blog's hand-written redeploy script
# (go build -> docker build -> docker service rm -> docker service create),
# parameterised so it can run beside the real services without touching them.
#
#   SRC=/tmp/x/accountservice SERVICE=bench-copyall PORT=16768 bash bench/copyall.sh
#
# Differences from the blog, all forced by this machine:
#   - FROM scratch instead of iron/base (no image can be pulled here);
#   - --publish mode=host and --endpoint-mode dnsrr (no IPVS, so the ingress
#     routing mesh never answers here);
#   - PORT is passed to the app, and a bounded curl loop waits until it serves.
#
# Optional, each off by default (the default is the blog's script as a user runs it today):
#   DETACH=1        `docker service create --detach`: return at once, as the blog's Docker (before
#                   17.10) did; without it a current CLI waits until the service has converged
#   REPLICAS=N      --replicas N (default 1)
#   SWARM_HOST=H    run the `docker service` commands against the engine at H (e.g. a lab manager's
#                   unix:///run/goswarm-NAME/docker.sock); the image is still built by the engine at
#                   DOCKER_HOST, as the blog built on its machine and deployed to the swarm
#   REGISTRY=R      tag and push the image to R after building it, so that every node can pull it
#   NODE_REGISTRY=N the registry as the nodes see it (default: R), the name the service runs
#   URL=U           what the final wait polls (default http://127.0.0.1:$PORT/accounts/10000)
set -euo pipefail

: "${SRC:?SRC must be the Go service directory to build}"
SERVICE=${SERVICE:-bench-copyall}
PORT=${PORT:-16768}
NETWORK=${NETWORK:-my_network}
IMAGE=${IMAGE:-bench/$SERVICE}
WAIT_SECONDS=${WAIT_SECONDS:-60}
REPLICAS=${REPLICAS:-1}
REGISTRY=${REGISTRY:-}
NODE_REGISTRY=${NODE_REGISTRY:-$REGISTRY}
url=${URL:-http://127.0.0.1:$PORT/accounts/10000}

swarm() { # docker against the swarm manager: SWARM_HOST when set, else the same engine
  if [[ -n ${SWARM_HOST:-} ]]; then docker -H "$SWARM_HOST" "$@"; else docker "$@"; fi
}

# 1. Build the static Linux binary in the service directory, as the blog did.
cd "$SRC"
GOOS=linux CGO_ENABLED=0 go build -o "$SERVICE-linux-amd64" .
echo "built $(pwd)"

# 2. Build the image. The blog's context was the whole service directory
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
run_image=$IMAGE
if [[ -n $REGISTRY ]]; then
  docker tag "$IMAGE" "$REGISTRY/$IMAGE"
  docker push "$REGISTRY/$IMAGE"
  run_image=$NODE_REGISTRY/$IMAGE
fi

# 3. Replace the service: remove it (it may not exist), then create it afresh.
swarm service rm "$SERVICE" || true
# Without --detach (the blog's script on a current CLI) `service create` waits until the service has
# converged; DETACH=1 returns at once, as the blog's Docker did. The curl loop below runs either way.
detach=()
if [[ ${DETACH:-} == 1 ]]; then detach=(--detach); fi
swarm service create "${detach[@]}" --name "$SERVICE" --network "$NETWORK" --replicas "$REPLICAS" \
  --publish "mode=host,target=$PORT,published=$PORT" -e "PORT=$PORT" \
  --endpoint-mode dnsrr "$run_image"

# 4. Wait until the new task runs and answers (bounded). Checking the task first matters:
# the removed service's container keeps answering for a moment after `service rm`.
deadline=$((SECONDS + WAIT_SECONDS))
until swarm service ps "$SERVICE" --filter desired-state=running --format '{{.CurrentState}}' | grep -q '^Running' &&
  curl -fsS --max-time 2 "$url"; do
  if ((SECONDS >= deadline)); then
    echo "copyall.sh: $url did not answer within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 0.2
done
echo
echo "copyall.sh: $SERVICE is serving on $url"
