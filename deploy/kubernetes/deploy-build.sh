#!/usr/bin/env bash
# Deploy one worker build to Kubernetes: the ConfigMap with the rules, directory, catalog and
# initial flags (from this checkout), then a worker Deployment for the build. What the seed
# design's deploy-selective.sh did, minus the routing: traffic moves only through
# `/rollout <build> <percent>` (or `/rollout plan ...`) in Slack, where the deployment monitor
# watches it and rolls back on failure. The first build of a fresh installation becomes current
# by itself.
#
#   deploy/kubernetes/deploy-build.sh IMAGE [REPLICAS]      apply, wait until ready
#   deploy/kubernetes/deploy-build.sh --print IMAGE [REPLICAS]   only print the manifests
#
# BUILD_ID: the image's own build id (`purchasebot build-id` inside it) unless set.
# TARGET_DEPARTMENT: once the build is ready, roll it out to that department first (its NEW
# requests only; everyone else stays on the current build) with `purchasebot rollout department`
# run in the bot's pod; the deployment monitor judges the build on that department's requests.
# TEMPORAL_ADDRESS: default temporal-frontend:7233 (the Temporal Helm chart's service).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
print_only=0
if [[ "${1:-}" == "--print" ]]; then
  print_only=1
  shift
fi
image="${1:?usage: deploy-build.sh [--print] IMAGE [REPLICAS]}"
replicas="${2:-2}"
temporal_address="${TEMPORAL_ADDRESS:-temporal-frontend:7233}"
build_id="${BUILD_ID:-$(docker run --rm "$image" purchasebot build-id)}"
# A Kubernetes name and label value: lowercase letters, digits and dashes.
name="$(printf '%s' "$build_id" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9-' '-' | sed 's/^-*//; s/-*$//' | cut -c1-40)"

render() {
  echo "apiVersion: v1"
  echo "kind: ConfigMap"
  echo "metadata:"
  echo "  name: purchasebot-config"
  echo "data:"
  for file in rules.yaml directory.yaml catalog.yaml flags.yaml; do
    echo "  $file: |"
    sed 's/^/    /' "$repo/$file"
  done
  echo "---"
  sed -e "s|__NAME__|$name|g" -e "s|__BUILD_ID__|$build_id|g" -e "s|__IMAGE__|$image|g" \
      -e "s|__REPLICAS__|$replicas|g" -e "s|__TEMPORAL_ADDRESS__|$temporal_address|g" \
      "$here/worker-build.yaml.template"
}

if (( print_only )); then
  render
  exit 0
fi
render | kubectl apply -f -
kubectl rollout status "deployment/purchasebot-worker-$name" --timeout=5m
if [[ -n "${TARGET_DEPARTMENT:-}" ]]; then
  kubectl exec deployment/purchasebot-bot -- purchasebot rollout --actor cli:deploy-build \
    department "$build_id" "$TARGET_DEPARTMENT" --wait 120
  echo "Build $build_id gets every new request of $TARGET_DEPARTMENT. Then, from Slack:"
  echo "  /rollout promote $build_id     (or /rollback)"
else
  echo "Build $build_id is ready ($replicas workers). Route traffic to it from Slack:"
  echo "  /rollout $build_id 10          (or /rollout plan $build_id 10,25,50,100 every 10m,"
  echo "                                  or /rollout $build_id department <name>)"
fi
echo "Delete its Deployment only once /rollout status shows it drained."
