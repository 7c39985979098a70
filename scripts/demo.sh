#!/usr/bin/env bash
# Set up (first run only) and start Yishi on the embedded default with a demo community and deliberation.
source "$(dirname "$0")/_venv.sh" ""  # no extras (an empty argument, so ours are not passed on)
exec .venv/bin/yishi up --demo "$@"
