#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite against real embedded PostgreSQL and Temporal
# and a real headless Chromium. Extra arguments go to pytest (e.g. --long, -k NAME).
source "$(dirname "$0")/_venv.sh" test
if [ -z "${YISHI_CHROMIUM:-}" ]; then
  YISHI_CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
  if [ -z "$YISHI_CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "could not install chromium; browser tests will be skipped" >&2
    YISHI_CHROMIUM="$(command -v chromium || true)"
  fi
  export YISHI_CHROMIUM
fi
exec .venv/bin/python -m pytest -q "$@"
