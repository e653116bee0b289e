#!/usr/bin/env bash
# Starts or stops a Docker engine for the end-to-end tests on a machine that has the Docker client
# but no engine (Debian's docker.io): `sudo test/e2e/dockerd.sh start`, later `... stop`.
# vfs storage and no iptables: what works inside this kind of sandbox.
set -euo pipefail
STATE=${MUSTER_DOCKERD_STATE:-/run/muster-dockerd}
case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then echo "dockerd: an engine already answers; using it"; exit 0; fi
    command -v dockerd >/dev/null || { echo "dockerd: not installed (apt-get install docker.io)" >&2; exit 1; }
    mkdir -p "$STATE"
    dockerd --storage-driver=vfs --iptables=false --ip6tables=false --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
    echo $! >"$STATE/started-by-us"
    for _ in $(seq 1 60); do
      if docker info >/dev/null 2>&1; then echo "dockerd: ready (log: $STATE/dockerd.log)"; exit 0; fi
      if ! kill -0 "$(cat "$STATE/started-by-us")" 2>/dev/null; then break; fi
      sleep 1
    done
    echo "dockerd: did not come up; last lines of its log:" >&2
    tail -20 "$STATE/dockerd.log" >&2 || true
    exit 1
    ;;
  stop)
    # Only the engine this script started, by its PID.
    if [ -f "$STATE/started-by-us" ]; then
      pid=$(cat "$STATE/started-by-us")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      rm -f "$STATE/started-by-us"
      echo "dockerd: stopped"
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
