#!/bin/sh
# Debian's chromium (browser checks, the paper's PDF) and poppler-utils (pdftotext, to check the PDF): installed
# only when missing and when we may (root + apt-get). Never fails the build: another apt/dpkg process holding the
# lock is waited for (IL6REPRO_APT_WAIT seconds, default 600); if the packages still cannot be installed, say so in
# one line and carry on (the site is built and its browser check reported as skipped, as `python -m il6repro site
# --check` does without chromium).
pkgs=""
if ! command -v chromium >/dev/null 2>&1 && [ -z "$IL6REPRO_CHROMIUM" ]; then pkgs="chromium"; fi
if ! command -v pdftotext >/dev/null 2>&1; then pkgs="$pkgs poppler-utils"; fi
pkgs="${pkgs# }"
[ -z "$pkgs" ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing $pkgs and cannot install (not root or no apt-get): browser and PDF checks will be skipped"
  exit 0
fi
WAIT="${IL6REPRO_APT_WAIT:-600}"
echo "installing Debian packages for the browser checks and the paper PDF: $pkgs (waiting up to ${WAIT}s for a busy apt/dpkg lock)"
LOG="${TMPDIR:-/tmp}/il6repro-apt.$$.log"
# shellcheck disable=SC2086
if apt-get -o DPkg::Lock::Timeout="$WAIT" update -qq >"$LOG" 2>&1 \
   && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$WAIT" install -y -qq $pkgs >>"$LOG" 2>&1; then
  rm -f "$LOG"
  exit 0
fi
echo "could not install $pkgs ($(grep -E '^(E|W):' "$LOG" | tail -n 1)); browser and PDF checks will be skipped (log: $LOG)"
exit 0
