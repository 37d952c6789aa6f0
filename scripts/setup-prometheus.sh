#!/usr/bin/env bash
# Makes a `prometheus` binary available to the tests (tests/py/test_catalog_prometheus.py starts
# its own on 127.0.0.1 with a temporary data directory; it never uses a system service).
# A `prometheus` already on PATH is used as it is (a second run is instant). Otherwise the Debian
# package is installed (`apt-get update`, `apt-get install --no-install-recommends prometheus`, as
# root or through `sudo -n`). The package's postinst may start the system service (on a machine
# without a policy-rc.d that forbids it): this script then stops the process that start wrote to
# the service's pid file, and only that one, so nothing of ours is left listening on :9090.
# Usage: scripts/setup-prometheus.sh   (prints the binary's path last)
set -euo pipefail

if found="$(command -v prometheus)"; then
  echo "$found"
  exit 0
fi

if [[ $EUID -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "setup-prometheus: prometheus is not installed and installing it needs root:" >&2
  echo "  apt-get install --no-install-recommends prometheus   (as root), then run this again" >&2
  exit 1
fi

# The Debian init script's pid file (start-stop-daemon --make-pidfile).
PIDFILE=/run/prometheus/prometheus.pid
# Another apt or dpkg run on the machine holds the lock for a while: wait for it, boundedly.
LOCK_WAIT=(-o DPkg::Lock::Timeout=300)

echo "setup-prometheus: installing the Debian package prometheus" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${LOCK_WAIT[@]}" update -qq >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${LOCK_WAIT[@]}" install -y -qq \
  --no-install-recommends prometheus >&2

# pid of the service the postinst started, if it did: the pid file's process, only when it is
# the packaged binary (a stale pid file may name an unrelated process by now).
service_pid() {
  local pid
  pid="$("${as_root[@]}" cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$("${as_root[@]}" readlink "/proc/$pid/exe" 2>/dev/null || true)" == /usr/bin/prometheus ]] || return 1
  echo "$pid"
}

# A process that has exited but was not reaped yet (a zombie) counts as stopped.
alive() {
  local state
  state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z ]]
}

wait_gone() {
  for _ in $(seq 1 50); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

if pid="$(service_pid)"; then
  echo "setup-prometheus: stopping the system service the package started (pid $pid)" >&2
  # The init script stops exactly that process (its --exec, --pidfile and --user must all match).
  "${as_root[@]}" /etc/init.d/prometheus stop >&2 || true
  if ! wait_gone "$pid" && pid2="$(service_pid)" && [[ "$pid2" == "$pid" ]]; then
    # Still the same packaged binary under the same pid: end that one process.
    "${as_root[@]}" kill -TERM "$pid" || true
    wait_gone "$pid" || "${as_root[@]}" kill -KILL "$pid" || true
    wait_gone "$pid" || true
  fi
  if alive "$pid"; then
    echo "setup-prometheus: could not stop the system prometheus (pid $pid)" >&2
    exit 1
  fi
fi

found="$(command -v prometheus)" || { echo "setup-prometheus: prometheus is still not on PATH" >&2; exit 1; }
"$found" --version >&2
echo "$found"
