#!/bin/bash
# The node image's healthcheck where there is bash (Debian-based images; the Dockerfile links this
# or muster-health.sh as /usr/local/bin/muster-health): readiness, asked of the agent's HTTP
# listener (GET /status/ready) over bash's /dev/tcp, in this one process, instead of a Node.js
# process (`muster ctl cluster ready`: about 0.2-0.3 s of CPU and 50 MB per check). The agent
# writes where its listener answers to <data dir>/http-listener. Without that file (the listener
# off, or a data dir set in a config file) or over HTTPS it runs `muster ctl cluster ready`.
# Exit 0: ready; 1: not ready.
file="${MUSTER_NODE__DATA_DIR:-/var/lib/muster}/http-listener"
if [[ -r $file ]] && read -r host port scheme < "$file" && [[ $scheme == http ]]; then
  exec 3<>"/dev/tcp/$host/$port" || { echo "muster-health: cannot connect to the HTTP listener at $host:$port"; exit 1; }
  # HTTP/1.0: the listener closes after its answer, so reading to the end needs no length.
  [[ $host == *:* ]] && authority="[$host]:$port" || authority="$host:$port"
  printf 'GET /status/ready HTTP/1.0\r\nHost: %s\r\n\r\n' "$authority" >&3
  IFS= read -r -t 2 -d '' -N 4096 answer <&3
  [[ -n $answer ]] || { echo "muster-health: no answer from $host:$port within 2 s"; exit 1; }
  answer=${answer%$'\n'}
  echo "${answer##*$'\n'}"
  [[ $answer == "HTTP/1."?" 200 "* ]]
  exit
fi
exec muster ctl cluster ready
