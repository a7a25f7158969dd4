#!/bin/sh
# Install Debian's Chromium (and a CJK font, so screenshots show Chinese) for the page tests,
# which drive it with Playwright via executable_path — never `playwright install`.
# Idempotent: does nothing when /usr/bin/chromium and a Chinese font are already there.
set -eu
need=""
[ -x /usr/bin/chromium ] || need="chromium"
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    need="$need fonts-wqy-zenhei"
fi
[ -n "$need" ] || exit 0
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo"
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $need
