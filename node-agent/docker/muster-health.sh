#!/bin/sh
# The node image's healthcheck where there is no bash (Alpine and other BusyBox-based images; the
# Dockerfile links this or muster-health.bash as /usr/local/bin/muster-health): readiness, asked of
# the agent's HTTP listener (GET /status/ready) with BusyBox's wget instead of a Node.js process
# (`muster ctl cluster ready`: about 0.2-0.3 s of CPU and 50 MB per check). The agent writes where
# its listener answers to <data dir>/http-listener. Without that file (the listener off, or a data
# dir set in a config file), over HTTPS, or without wget, it runs `muster ctl cluster ready`.
# Exit 0: ready; 1: not ready.
file="${MUSTER_NODE__DATA_DIR:-/var/lib/muster}/http-listener"
if [ -r "$file" ] && read -r host port scheme < "$file" && [ "$scheme" = http ] && command -v wget >/dev/null 2>&1; then
  case "$host" in *:*) host="[$host]" ;; esac
  # No -T: Debian's busybox-static 1.35 wget crashes with it (seen here, SIGSEGV); the
  # healthcheck's own timeout (3 s) bounds the wait instead.
  # -Y off: a proxy set in the container's environment is not for the node's own listener.
  exec wget -Y off -q -O - "http://$host:$port/status/ready"
fi
exec muster ctl cluster ready
