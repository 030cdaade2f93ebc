#!/usr/bin/env bash
# Installs what the tests need from the operating system: Debian's chromium, and PostgreSQL binaries
# when no PostgreSQL server answers at DATABASE_URL or 127.0.0.1:5432. Never downloads a browser build.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)

pg_reachable() {
  python3 - <<'PY'
import os, socket, sys, urllib.parse
url = os.environ.get("DATABASE_URL") or "postgres://127.0.0.1:5432"
u = urllib.parse.urlparse(url)
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}
if ! pg_reachable && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Please install these Debian packages first: ${need[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
