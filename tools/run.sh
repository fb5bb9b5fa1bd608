#!/usr/bin/env bash
# make run: start the suite on real systemd and index this repository.
#
# Where a user manager runs (a desktop or ssh session with systemd --user), the suite is
# installed as the user's own units running from this checkout's virtual environment.
# Elsewhere (a container, a CI machine, PID 1 not systemd) a sandboxed systemd is booted
# for it (tests/sandbox/sysbox.sh: an overlay over /, nothing reaches the host), the suite
# is installed into it with `make install`, and it keeps running until `make run-stop`.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BOX=codeanalysisd-run
SYSBOX="$REPO/tests/sandbox/sysbox.sh"
export SYSBOX_STATE="$REPO/build/sandbox/state"

in_box() { "$SYSBOX" exec "$BOX" "$@"; }

# Whether a root is registered already. $1...: how to run codeanalysisctl; the last: the root.
registered() {
  local root=${!#}
  "${@:1:$#-1}" --json projects | python3 -c 'import json, sys
sys.exit(0 if any(p["root"] == sys.argv[1] for p in json.load(sys.stdin)) else 1)' "$root"
}

# After the index: wait (at most 3 minutes) for the vectorizer to embed what was added, then
# one full-text and one semantic search over the project. $1...: how to run codeanalysisctl.
searches() {
  local root=${!#} n=0 pending
  set -- "${@:1:$#-1}"
  while pending=$("$@" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["manager"]["ChunksPending"])') \
        && [ "$pending" != 0 ] && [ $n -lt 180 ]; do
    [ $((n % 10)) = 0 ] && echo "embedding: $pending chunk(s) to go"
    sleep 1; n=$((n + 1))
  done
  echo; echo "\$ codeanalysisctl search -p $root -n 5 repair worker batch"
  "$@" search -p "$root" -n 5 repair worker batch || true
  echo; echo "\$ codeanalysisctl semantic -p $root -n 5 'wait until a project is indexed and show progress'"
  "$@" semantic -p "$root" -n 5 'wait until a project is indexed and show progress' || true
}

case "${1:-start}" in
stop)
  if "$SYSBOX" pid "$BOX" >/dev/null 2>&1; then "$SYSBOX" stop "$BOX"; echo "sandbox $BOX stopped"; fi
  if systemctl --user is-active -q codeanalysisd.target 2>/dev/null; then
    systemctl --user stop codeanalysisd.target; echo "user suite stopped"; fi
  exit 0 ;;
ctl) shift; in_box codeanalysisctl "$@"; exit ;;
shell) in_box /bin/bash; exit ;;
start) ;;
*) echo "usage: $0 [start|stop|ctl ARGS...|shell]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ] && systemctl --user show-environment >/dev/null 2>&1; then
  units="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  mkdir -p "$units"
  for u in "$REPO"/units/*; do
    sed -e "s|/usr/lib/codeanalysisd/bin/|$REPO/.venv/bin/|" -e 's| --system$| --user|' \
        -e '/^User=/d' -e '/^Group=/d' -e '/^ConfigurationDirectory=/d' \
        -e 's|^NoNewPrivileges=yes|NoNewPrivileges=yes\nPrivateUsers=yes|' \
        -e 's|^ProtectHome=read-only|ProtectHome=no|' "$u" > "$units/$(basename "$u")"
  done
  systemctl --user daemon-reload
  systemctl --user start codeanalysisd.target
  ctl=("$REPO/.venv/bin/codeanalysisctl" --user)
  # add waits until the project is indexed, showing how far; a second run finds it registered
  registered "${ctl[@]}" "$REPO" || "${ctl[@]}" add "$REPO" || true
  "${ctl[@]}" status
  echo; "${ctl[@]}" projects
  searches "${ctl[@]}" "$REPO"
  echo; echo "the suite runs under your user manager: systemctl --user status codeanalysisd.target; make run-stop stops it"
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "make run: no user manager here, and the sandboxed systemd needs root" >&2; exit 1; }
"$SYSBOX" gc >/dev/null
if ! "$SYSBOX" pid "$BOX" >/dev/null 2>&1; then
  mkdir -p "$REPO/build/sandbox/logs"
  setsid "$SYSBOX" start "$BOX" --private-network --bind "$REPO:/opt/codeanalysisd-src:ro" \
    --bind "$REPO/build/wheels:/opt/codeanalysisd-wheels:ro" \
    >"$REPO/build/sandbox/logs/$BOX.console.log" 2>&1 < /dev/null &
  for _ in $(seq 1 200); do "$SYSBOX" pid "$BOX" >/dev/null 2>&1 && break; sleep 0.05; done
  for _ in $(seq 1 200); do in_box test -S /run/systemd/private 2>/dev/null && break; sleep 0.05; done
  in_box systemctl is-system-running --wait >/dev/null || true
fi
in_box make -C /opt/codeanalysisd-src --no-print-directory install WHEELHOUSE=/opt/codeanalysisd-wheels >/dev/null
in_box systemctl start codeanalysisd.target
# add waits until the project is indexed, showing how far; a second run finds it registered
registered in_box codeanalysisctl /opt/codeanalysisd-src || in_box codeanalysisctl add /opt/codeanalysisd-src || true
in_box codeanalysisctl status
echo; in_box codeanalysisctl projects
searches in_box codeanalysisctl /opt/codeanalysisd-src
cat <<TXT

The suite runs in a sandboxed systemd ($BOX); this repository is the project
/opt/codeanalysisd-src inside it. Try:
  tools/run.sh ctl status            codeanalysisctl inside the sandbox
  tools/run.sh shell                 a root shell inside: systemctl, journalctl, busctl
  make run-stop                      power the sandbox off
TXT
