#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite against real embedded PostgreSQL and Temporal
# and a real headless Chromium. Extra arguments go to pytest (e.g. --long, -k NAME).
source "$(dirname "$0")/_venv.sh" test
if [ -z "${YISHI_CHROMIUM:-}" ]; then
  need=()
  command -v chromium >/dev/null || need+=(chromium)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)  # Chinese text in screenshots
  if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the browser tests: ${need[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
      || echo "could not install ${need[*]}; browser tests may be skipped" >&2
  fi
  YISHI_CHROMIUM="$(command -v chromium || true)"
  export YISHI_CHROMIUM
fi
exec .venv/bin/python -m pytest -q "$@"
