#!/bin/sh
# Debian packages the tests need: a real systemd and D-Bus (system and session bus),
# polkit (the DB owner manages worker units through it), the tools the sandbox uses, what
# building the Debian package takes (binutils strips its native modules), lintian to check
# it, groff and man-db to render and read its manual pages, and npm.
set -eu
need="systemd dbus dbus-user-session polkitd python3-venv util-linux make dpkg-dev debhelper binutils acl
  lintian groff-base man-db"
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm installs the MCP Inspector and the Node.js it runs on (make npm); Debian's npm, unless
# one is there already (from Node.js's own packages, say)
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
