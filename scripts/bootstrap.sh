# Sourced by scripts/run and scripts/test: installs what the relay needs on a Debian/Ubuntu machine.
# - redis-server from the distribution (apt), unless one is already on PATH;
# - with INSTALL_CHROMIUM=1 (scripts/test), chromium and chromium-driver for the console's browser tests,
#   unless both are already installed;
# - a virtualenv in .venv with the pinned Python packages (re-installed when the requirements change).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "==> installing redis-server (apt)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if [ "${INSTALL_CHROMIUM:-0}" = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  echo "==> installing chromium and chromium-driver (apt)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
    echo "==> installing python3-venv (apt)"
    need_root apt-get update -qq
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
  fi
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi

REQS=${REQS:-requirements.txt}
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQS")"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages from $REQS"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r "$REQS"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
