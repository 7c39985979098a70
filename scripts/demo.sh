#!/usr/bin/env bash
# Set up (first run only) and start Yishi on the embedded default with a demo community and deliberation.
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/yishi up --demo "$@"
