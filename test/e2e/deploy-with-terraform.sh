#!/usr/bin/env bash
# `npm run e2e:deploy`: the end-to-end scenarios through the real `cdktf deploy` / `cdktf destroy`,
# for machines where Terraform can download the kreuzwerker/docker provider and pull the official
# images (CI here cannot: it uses test/e2e/applier.ts instead). Each stack is deployed, must form
# its cluster within 60 s as seen by `docker exec <node> muster ctl cluster status --json`, and is
# destroyed again, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CHECKPOINT_DISABLE=1 TF_VAR_cookie="${TF_VAR_cookie:-e2e-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
npm run build
stacks=("${@:-static dns-a dns-srv etcd manual}")
for stack in ${stacks[*]}; do
  prefix=${stack//-/}
  echo "== $stack"
  trap 'npx cdktf destroy "$stack" --auto-approve >/dev/null || true' EXIT
  npx cdktf deploy "$stack" --auto-approve
  if [ "$stack" = manual ]; then
    docker exec "${prefix}-node2" muster ctl cluster join "muster@node1.${prefix}.internal"
    want=2
  else
    want=3
  fi
  start=$(date +%s)
  until n=$(docker exec "${prefix}-node1" muster ctl cluster status --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).running_nodes.length))') && [ "$n" = "$want" ]; do
    if [ $(( $(date +%s) - start )) -ge 60 ]; then echo "$stack: no cluster of $want within 60 s" >&2; exit 1; fi
    sleep 1
  done
  echo "$stack: formed in $(( $(date +%s) - start )) s"
  npx cdktf destroy "$stack" --auto-approve
  trap - EXIT
done
