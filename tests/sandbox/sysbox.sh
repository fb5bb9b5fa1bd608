#!/bin/bash
# sysbox.sh -- the test sandbox of codeanalysisd: boot a REAL systemd (system manager as PID 1, or a user manager)
# with a real dbus-daemon and real journald, on top of the host's root
# filesystem, WITHOUT being able to modify the host:
#
#   * root fs      = overlayfs(lower=host "/", upper=tmpfs): every write (/etc,
#                    /var, /usr, ...) lands in RAM and vanishes with the box
#   * /tmp, /var/tmp, /run, /dev, /var/log/journal = fresh private tmpfs
#   * namespaces   = mount, pid, cgroup, uts, ipc (+ net with --private-network)
#   * /proc/sys, /sys read-only (no sysctl, no udev, no /sys writes)
#   * capability bounding set drops SYS_TIME, SYS_MODULE, SYS_BOOT, SYSLOG,
#     SYS_RAWIO, NET_ADMIN (unless private net), MAC_*, WAKE_ALARM, BPF, ...
#   * cgroup       = cgroup2 subtree <unified>/sysbox-<id>, delegated through a
#                    cgroup namespace (systemd only sees its own subtree)
#   * system mode boots harness.target (journald + system dbus); what
#     sysinit/basic/sockets/timers would pull in (tmpfiles, sysctl, sysusers,
#     remount-fs, modules-load, timesyncd, apt timers, ...) is masked inside
#     the overlay (speed, and belt and braces)
#   * the script refuses to exec systemd unless all of the above verifiably
#     holds (mountinfo + cgroup checks after pivot_root)
#
# usage (as root):
#   sysbox.sh start ID [--mode system|user] [--private-network]
#                      [--bind HOSTPATH[:PATH[:ro]]]... [--unit-dir DIR]... [--etc-dir DIR]...
#       foreground; the fixture runs it in the background. stdout/stderr get
#       the box's /dev/console. Host PID of the box's PID 1 -> $SYSBOX_PIDFILE
#       (default state/ID.pid). --unit-dir: copied into /etc/systemd/system
#       (system) or /etc/systemd/user (user); --etc-dir: copied over /etc.
#       --bind: the ONLY host paths the box can write (rw unless :ro).
#   sysbox.sh exec  ID cmd...   run cmd inside (nsenter into all namespaces)
#   sysbox.sh stop  ID          orderly poweroff, wait, SIGKILL leftovers, rmdir cgroup
#   sysbox.sh pid   ID          host PID of the box's PID 1
#   sysbox.sh gc                rmdir empty cgroups of dead boxes
set -euo pipefail
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
SYSBOX_STATE=${SYSBOX_STATE:-$(dirname "$HERE")/../build/sandbox/state}
SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

cg2_root() {   # where the cgroup2 (unified) hierarchy is mounted on the host
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo /sys/fs/cgroup
  elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup/unified
  else echo "no cgroup2 hierarchy found" >&2; return 1; fi
}

box_pid() {    # host PID of the box's PID 1 (written by stage2), verified by cgroup
  local f=${SYSBOX_PIDFILE:-$SYSBOX_STATE/$1.pid} p
  p=$(cat "$f" 2>/dev/null || true)
  if [ -n "$p" ] && grep -qE "^0::/sysbox-$1(/|\$)" "/proc/$p/cgroup" 2>/dev/null; then echo "$p"
  else echo "sysbox $1 not running" >&2; return 1; fi
}

case "${1:-}" in
start)
  ID=$2; shift 2
  MODE=system PRIVNET=0; BINDS=(); UNITDIRS=(); ETCDIRS=()
  while [ $# -gt 0 ]; do case "$1" in
    --mode) MODE=$2; shift;;
    --private-network) PRIVNET=1;;
    --bind) BINDS+=("$2"); shift;;
    --unit-dir) UNITDIRS+=("$(readlink -f "$2")"); shift;;
    --etc-dir) ETCDIRS+=("$(readlink -f "$2")"); shift;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac; shift; done
  [ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
  case "$MODE" in system|user) ;; *) echo "bad --mode" >&2; exit 2;; esac
  CG="$(cg2_root)/sysbox-$ID"
  [ -e "$CG" ] && { echo "cgroup $CG exists: box $ID running or not cleaned up" >&2; exit 1; }
  export SYSBOX_PIDFILE=${SYSBOX_PIDFILE:-$SYSBOX_STATE/$ID.pid}
  mkdir -p "$(dirname "$SYSBOX_PIDFILE")"; rm -f "$SYSBOX_PIDFILE"
  mkdir "$CG"
  echo $$ > "$CG/cgroup.procs"          # this shell (and so unshare) into the subtree
  NSFLAGS=(--mount --pid --fork --cgroup --uts --ipc --propagation private --kill-child=SIGKILL)
  [ $PRIVNET = 1 ] && NSFLAGS+=(--net)
  export SYSBOX_ID=$ID SYSBOX_MODE=$MODE SYSBOX_PRIVNET=$PRIVNET SYSBOX_HERE=$HERE
  export SYSBOX_BINDS="${BINDS[*]:-}" SYSBOX_UNITDIRS="${UNITDIRS[*]:-}" SYSBOX_ETCDIRS="${ETCDIRS[*]:-}"
  exec unshare "${NSFLAGS[@]}" "$SELF" __stage2
  ;;

__stage2)
  # ---- we are PID 1 of fresh mount/pid/cgroup/uts/ipc namespaces ----------
  [ $$ = 1 ] || { echo "stage2 must be pid 1" >&2; exit 1; }
  # scratch tmpfs: hides the host's /run in THIS mount namespace only
  mount -t tmpfs -o mode=755,nosuid,nodev sysbox-scratch /run
  S=/run/sysbox; R=$S/root; U=$S/upper
  mkdir -p $U $S/work $R
  # ---- pre-seed the overlay's upper layer (RAM only) --------------------
  mkdir -p $U/etc/systemd/system $U/etc/systemd/user $U/etc/systemd/journald.conf.d $U/usr/local/lib/sysbox
  tr -d '-' </proc/sys/kernel/random/uuid >$U/etc/machine-id    # fresh machine id
  printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >$U/etc/systemd/journald.conf.d/sysbox.conf
  cp "$SYSBOX_HERE/harness.target" $U/etc/systemd/system/
  cp "$SYSBOX_HERE/userinit.sh" $U/usr/local/lib/sysbox/
  # mask everything the early-boot targets would pull in, except journald+dbus
  keep=" systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket dbus.socket dbus.service "
  for t in sysinit basic sockets timers paths local-fs local-fs-pre remote-fs remote-fs-pre swap \
           cryptsetup integritysetup veritysetup network network-pre network-online nss-lookup \
           nss-user-lookup time-set time-sync getty; do
    for d in /etc/systemd/system /usr/local/lib/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
      for w in "$d/$t.target.wants"/* "$d/$t.target.requires"/*; do
        [ -e "$w" ] || [ -L "$w" ] || continue
        u=${w##*/}; case "$keep" in *" $u "*) continue;; esac
        ln -sfn /dev/null "$U/etc/systemd/system/$u"
      done
    done
  done
  for u in systemd-remount-fs.service systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
           systemd-tmpfiles-clean.timer systemd-journal-flush.service systemd-update-utmp.service \
           systemd-journald-audit.socket systemd-initctl.socket systemd-sysctl.service systemd-sysusers.service \
           systemd-modules-load.service systemd-binfmt.service systemd-timesyncd.service systemd-firstboot.service \
           systemd-random-seed.service systemd-machine-id-commit.service systemd-hwdb-update.service \
           systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
           getty.target console-getty.service; do
    ln -sfn /dev/null "$U/etc/systemd/system/$u"
  done
  # caller-supplied unit files and /etc content (copied, never linked to the host)
  udir=$U/etc/systemd/system; [ "$SYSBOX_MODE" = user ] && udir=$U/etc/systemd/user
  for d in $SYSBOX_UNITDIRS; do cp -a "$d"/. "$udir"/; done
  for d in $SYSBOX_ETCDIRS;  do cp -a "$d"/. $U/etc/; done
  # ---- the root: overlay(lower = host /) -----------------------------------
  mount -t overlay sysbox-root -o lowerdir=/,upperdir=$U,workdir=$S/work $R
  # kernel filesystems, all private to this box
  mount -t proc -o nosuid,nodev,noexec proc $R/proc
  for p in sys sysrq-trigger irq bus fs; do                     # read-only /proc knobs
    if [ -e $R/proc/$p ]; then mount --bind $R/proc/$p $R/proc/$p; mount -o remount,bind,ro $R/proc/$p $R/proc/$p; fi
  done
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs $R/sys
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 $R/sys/fs/cgroup   # rooted at our cgroupns
  mount -t tmpfs -o mode=755,nosuid,size=64m,nr_inodes=4096 tmpfs $R/dev
  for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name ma mi <<<"$n"; mknod -m 666 $R/dev/$name c $ma $mi
  done
  mkdir -p $R/dev/pts $R/dev/shm $R/dev/mqueue
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts $R/dev/pts
  ln -s pts/ptmx $R/dev/ptmx
  ln -s /proc/self/fd $R/dev/fd; ln -s /proc/self/fd/0 $R/dev/stdin
  ln -s /proc/self/fd/1 $R/dev/stdout; ln -s /proc/self/fd/2 $R/dev/stderr
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/dev/shm
  # /dev/console: the box's console output goes to our stdout if it is a file
  touch $R/dev/console
  if [ -f /proc/self/fd/1 ]; then mount --bind /proc/self/fd/1 $R/dev/console
  else mount --bind $R/dev/null $R/dev/console; fi
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs $R/run
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/tmp
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/var/tmp
  [ -d $R/var/log/journal ] && mount -t tmpfs -o mode=2755,nosuid,nodev tmpfs $R/var/log/journal
  # caller-requested shared paths (the ONLY writable host paths)
  for b in $SYSBOX_BINDS; do                        # SRC[:DST[:ro]]
    IFS=: read -r src dst opt <<<"$b"; dst=${dst:-$src}
    if [ -d "$src" ]; then mkdir -p "$R$dst"; else mkdir -p "$(dirname "$R$dst")"; touch "$R$dst"; fi
    mount --bind "$src" "$R$dst"
    if [ "${opt:-}" = ro ]; then mount -o remount,bind,ro "$R$dst"; fi
  done
  # host PID of this process (= the box's PID 1): /proc is still the host's here
  read -r hostpid _ </proc/self/stat; echo "$hostpid" > "$SYSBOX_PIDFILE"
  # ---- switch root ----------------------------------------------------------
  cd $R; mkdir -p .oldroot; pivot_root . .oldroot; cd /
  umount -l /.oldroot; rmdir /.oldroot
  # ---- refuse to start anything unless the sandbox really is in place ------
  mi() { awk -v m="$1" '$5==m { for (i=7;i<=NF;i++) if ($i=="-") { print $6" "$(i+1); break } }' /proc/self/mountinfo | tail -n1; }
  case "$(mi /)"         in rw*" overlay") ;; *) echo "SAFETY: / is not overlay"   >&2; exit 1;; esac
  case "$(mi /proc/sys)" in ro*)           ;; *) echo "SAFETY: /proc/sys not ro"   >&2; exit 1;; esac
  case "$(mi /sys)"      in ro*)           ;; *) echo "SAFETY: /sys not ro"        >&2; exit 1;; esac
  for m in /run /tmp /var/tmp /dev; do
    case "$(mi $m)" in *" tmpfs") ;; *) echo "SAFETY: $m is not a private tmpfs" >&2; exit 1;; esac
  done
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "SAFETY: no cgroup2" >&2; exit 1; }
  grep -q '^0::/$' /proc/self/cgroup || { echo "SAFETY: not at cgroupns root" >&2; exit 1; }
  DROP=-sys_time,-sys_module,-sys_boot,-syslog,-sys_rawio,-mac_admin,-mac_override,-wake_alarm,-block_suspend,-sys_pacct,-audit_control,-audit_read,-bpf,-perfmon,-checkpoint_restore
  [ "$SYSBOX_PRIVNET" = 1 ] || DROP=$DROP,-net_admin
  ENV=(container=sysbox container_uuid="$(cat /etc/machine-id)" TERM=dumb LANG=C.UTF-8 PATH=$SAFE_PATH)
  if [ "$SYSBOX_MODE" = system ]; then
    exec setpriv --bounding-set="$DROP" --inh-caps=-all env -i "${ENV[@]}" \
      /lib/systemd/systemd --system --unit=harness.target --show-status=no --log-target=journal-or-kmsg
  else
    exec setpriv --bounding-set="$DROP" --inh-caps=-all env -i "${ENV[@]}" \
      /bin/bash /usr/local/lib/sysbox/userinit.sh
  fi
  ;;

exec)
  ID=$2; shift 2; P=$(box_pid "$ID")
  ns=(--mount --pid --uts --ipc --cgroup); [ "$(readlink /proc/$P/ns/net)" = "$(readlink /proc/self/ns/net)" ] || ns+=(--net)
  userenv=(); [ -d /proc/$P/root/run/user/0 ] && userenv=(XDG_RUNTIME_DIR=/run/user/0 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus)
  exec nsenter --target "$P" "${ns[@]}" --root --wd -- env -i TERM=dumb LANG=C.UTF-8 HOME=/root USER=root LOGNAME=root \
       PATH=$SAFE_PATH SYSTEMD_PAGER= SYSTEMD_COLORS=0 "${userenv[@]}" "$@"
  ;;

pid) box_pid "$2" ;;

stop)
  ID=$2; CG="$(cg2_root)/sysbox-$ID"; P=$(box_pid "$ID" 2>/dev/null || true)
  if [ -n "$P" ]; then
    kill -s SIGRTMIN+4 "$P" 2>/dev/null || true            # systemd: orderly poweroff
    for _ in $(seq 1 400); do [ -d /proc/$P ] || break; sleep 0.05; done
  fi
  # anything still alive in the subtree (should be nothing): SIGKILL by PID
  if [ -d "$CG" ]; then
    for f in $(find "$CG" -name cgroup.procs); do for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null || true; done; done
    for _ in $(seq 1 100); do [ -z "$(find "$CG" -name cgroup.procs -exec cat {} +)" ] && break; sleep 0.05; done
    find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
  fi
  [ -d "$CG" ] && { echo "WARNING: $CG not removed" >&2; exit 1; }
  exit 0 ;;

gc)
  for CG in "$(cg2_root)"/sysbox-*; do
    [ -d "$CG" ] || continue
    [ -z "$(find "$CG" -name cgroup.procs -exec cat {} +)" ] && find "$CG" -depth -type d -exec rmdir {} + && echo "removed $CG"
  done; exit 0 ;;

*) sed -n '2,40p' "$SELF"; exit 2;;
esac
