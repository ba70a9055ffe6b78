#!/bin/sh
# Install Debian's chromium for the site's browser check, if missing and if we may (root + apt-get).
# Never fails the build: another apt/dpkg process holding the lock is waited for (IL6REPRO_APT_WAIT seconds,
# default 600); if chromium still cannot be installed, say so in one line and carry on (the site is built and its
# browser check reported as skipped, as `python -m il6repro site --check` does without chromium).
if command -v chromium >/dev/null 2>&1 || [ -n "$IL6REPRO_CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found and cannot install it (not root or no apt-get): browser checks will be skipped"
  exit 0
fi
WAIT="${IL6REPRO_APT_WAIT:-600}"
echo "installing Debian chromium for the browser checks (waiting up to ${WAIT}s for a busy apt/dpkg lock)"
LOG="${TMPDIR:-/tmp}/il6repro-apt.$$.log"
if apt-get -o DPkg::Lock::Timeout="$WAIT" update -qq >"$LOG" 2>&1 \
   && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$WAIT" install -y -qq chromium >>"$LOG" 2>&1; then
  rm -f "$LOG"
  exit 0
fi
echo "chromium could not be installed ($(grep -E '^(E|W):' "$LOG" | tail -n 1 || true)); browser checks will be skipped (log: $LOG)"
exit 0
