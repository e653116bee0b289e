import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Test certificates made with openssl: a CA, and node certificates signed by it with a SAN. */
export interface NodeCert {
  certfile: string;
  keyfile: string;
  cacertfile: string;
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

export function makeCa(dir: string, name: string): string {
  ssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
  return path.join(dir, `${name}.crt`);
}

/**
 * A node certificate signed by CA `ca` with `san` (e.g. `IP:127.0.19.2` or `DNS:node1.example`).
 * `days: 0` makes one that expires at once.
 */
export function makeNodeCert(dir: string, ca: string, name: string, san: string, days = 2): NodeCert {
  ssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', `${name}.ext`]);
  return { certfile: path.join(dir, `${name}.crt`), keyfile: path.join(dir, `${name}.key`), cacertfile: path.join(dir, `${ca}.crt`) };
}

/** The MUSTER_* variables of a TLS node. */
export function tlsEnv(c: NodeCert, proto = 'inet_tls'): Record<string, string> {
  return {
    MUSTER_CLUSTER__PROTO_DIST: proto,
    MUSTER_CLUSTER__SSL__CERTFILE: c.certfile,
    MUSTER_CLUSTER__SSL__KEYFILE: c.keyfile,
    MUSTER_CLUSTER__SSL__CACERTFILE: c.cacertfile,
  };
}
