#!/bin/sh
# Lock a Chromium tablet or mini-PC on the booth page (Linux/ChromeOS-style kiosk mode).
# Usage: booth-kiosk.sh https://kiosk.local:8443/booth/
# The tablet must trust the LAN CA first (docs/runbook.md); pair it once at /booth/pair.
set -eu
URL="${1:-https://kiosk.local:8443/booth/}"
exec chromium --kiosk --noerrdialogs --disable-translate \
  --disable-pinch --overscroll-history-navigation=0 --disable-features=TranslateUI \
  --disable-background-networking --disable-component-update --no-first-run \
  --check-for-update-interval=31536000 "$URL"
