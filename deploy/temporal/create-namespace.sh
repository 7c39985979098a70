#!/bin/sh
# Run by the `temporal-namespace` service once the server is up: register the namespace Yishi uses, with the
# retention auto-setup used to give it. Safe to run again.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${DEFAULT_NAMESPACE:-default}"
tries=0
until temporal operator cluster health --address "$ADDRESS" | grep -q SERVING; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "Temporal at $ADDRESS did not become healthy" >&2; exit 1; }
  sleep 2
done
temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$NAMESPACE" --retention "${RETENTION:-720h}" --address "$ADDRESS"
echo "namespace $NAMESPACE is registered"
