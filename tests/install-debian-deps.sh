#!/bin/sh
# Debian packages the tests need: a real systemd and D-Bus (system and session bus),
# polkit (the DB owner manages worker units through it), the tools the sandbox uses, what
# building the Debian package takes (binutils strips its native modules), lintian to check
# it, and groff and man-db to render and read its manual pages.
set -eu
need="systemd dbus dbus-user-session polkitd python3-venv util-linux make dpkg-dev debhelper binutils acl
  lintian groff-base man-db"
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
