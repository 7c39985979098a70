#!/bin/sh
# Run by the `temporal-namespace` service once the server is up: register the namespace Yishi uses, with the
# retention auto-setup used to give it and Temporal's history (and visibility) archival to the file store of the
# `temporal_archival` volume, so closed histories are archived before retention deletes them. A namespace that
# exists already (a deployment from before archival) gets archival turned on. Safe to run again.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${DEFAULT_NAMESPACE:-default}"
HISTORY_URI="${HISTORY_ARCHIVAL_URI:?set HISTORY_ARCHIVAL_URI}"
VISIBILITY_URI="${VISIBILITY_ARCHIVAL_URI:?set VISIBILITY_ARCHIVAL_URI}"
tries=0
until temporal operator cluster health --address "$ADDRESS" | grep -q SERVING; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "Temporal at $ADDRESS did not become healthy" >&2; exit 1; }
  sleep 2
done
set -- --history-archival-state enabled --history-uri "$HISTORY_URI" \
  --visibility-archival-state enabled --visibility-uri "$VISIBILITY_URI"
if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  # Temporal never changes an archival URI once set: a namespace archiving elsewhere keeps doing so (Yishi's own
  # keeper is independent of it: docs/audit.md, "Kept histories").
  # A namespace registered a moment ago may not be in every server's namespace cache yet ("not found"): wait.
  tries=0
  while :; do
    if out=$(temporal operator namespace update --namespace "$NAMESPACE" --address "$ADDRESS" "$@" 2>&1); then
      echo "$out"
      break
    fi
    tries=$((tries + 1))
    if echo "$out" | grep -qi "not found" && [ "$tries" -lt 15 ]; then sleep 2; continue; fi
    echo "$out" >&2
    echo "warning: archival of namespace $NAMESPACE not changed (its archival URI was set before)" >&2
    break
  done
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "${RETENTION:-720h}" \
    --address "$ADDRESS" "$@"
fi
echo "namespace $NAMESPACE is registered; its archival (a server without archival leaves it Disabled):"
temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" | grep -i archival || true
