#!/usr/bin/env bash
# `npm run e2e:deploy`: the end-to-end stacks through the real `cdktf deploy` / `cdktf destroy`,
# for machines where Terraform can download the kreuzwerker/docker provider and pull the official
# images (CI here cannot: the suite uses test/e2e/applier.ts, a strict stand-in, instead). Each
# stack is deployed (deploy returns when every node is ready), must form its cluster within 60 s
# as seen by `docker exec <node> muster ctl cluster status --json`, must plan empty a second time
# (`terraform plan -detailed-exitcode` exits 0), and is destroyed again, also on failure.
# `npm run e2e:deploy -- static dns-srv` runs only those.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CHECKPOINT_DISABLE=1 TF_VAR_cookie="${TF_VAR_cookie:-e2e-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
command -v terraform >/dev/null || { echo "e2e:deploy: terraform is not installed" >&2; exit 2; }
npm run build
stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=(manual static dns-a dns-srv etcd static-v6)
for stack in "${stacks[@]}"; do
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
  # The second plan must be empty: 0 = no changes, 2 = changes (a bug in the kit), 1 = error.
  set +e
  (cd "cdktf.out/stacks/$stack" && terraform plan -detailed-exitcode -input=false -lock=false >"/tmp/muster-e2e-plan-$stack.txt" 2>&1)
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    echo "$stack: the second plan is not empty (exit $rc):" >&2
    cat "/tmp/muster-e2e-plan-$stack.txt" >&2
    exit 1
  fi
  echo "$stack: second plan empty"
  npx cdktf destroy "$stack" --auto-approve
  trap - EXIT
done
