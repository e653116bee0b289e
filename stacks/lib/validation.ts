import type { z } from 'zod';
import type { Construct } from 'constructs';
import { resolveForDisplay, TerraformStack, TerraformVariable, Token } from './cdktf';
import { markPropsInvalid, reportProblem, stopAt } from './problems';

export { KitValidationError } from './problems';

/**
 * Parses props with a zod schema. Bad props are reported (synth then fails listing every bad
 * construct of the app, not only the first) and the construct is built on from the valid props:
 * each bad top-level prop is left out so its default applies, or replaced by `fallbacks` when it
 * has none. Only when that still does not parse does building stop here.
 */
export function parseProps<S extends z.ZodType>(scope: Construct, schema: S, props: unknown, fallbacks: Record<string, unknown> = {}): z.output<S> {
  let r = schema.safeParse(props);
  if (r.success) return r.data;
  for (const i of r.error.issues) {
    reportProblem(scope, `${i.path.map(String).join('.') || '(props)'}: ${i.message}`);
  }
  markPropsInvalid(scope);
  let input: Record<string, unknown> = { ...(props as Record<string, unknown>) };
  for (let round = 0; round < 3 && !r.success; round++) {
    for (const i of r.error.issues) {
      const bad = i.code === 'unrecognized_keys' ? i.keys : i.path.length ? [String(i.path[0])] : [];
      if (!bad.length) stopAt(scope);
      input = { ...input };
      for (const k of bad) {
        if (k in fallbacks) input[k] = fallbacks[k];
        else delete input[k];
      }
    }
    r = schema.safeParse(input);
  }
  return r.success ? r.data : stopAt(scope);
}

/** IPv4 helpers for deterministic address plans. */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function parseCidr(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || Number(m[2]) > 30) return undefined;
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(m[1]) & mask) >>> 0, bits };
}

export function inSubnet(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  if (!c || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
  const size = 2 ** (32 - c.bits);
  const n = ipv4ToInt(ip);
  return n > c.base && n < c.base + size - 1;
}

/**
 * The cookie must be exactly a sensitive TerraformVariable's value: never a literal, nor a local, a
 * function of a literal or a variable that is not sensitive (each would print it in the plan or
 * write it into the synthesized JSON). Checked when the construct is built; the variable is found
 * by the reference the token resolves to.
 */
export function requireCookieToken(scope: Construct, cookie: string): void {
  if (Token.isUnresolved(cookie)) {
    const stack = TerraformStack.of(scope);
    const ref = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(String(resolveForDisplay(stack, cookie)));
    const variable = ref && stack.node.findAll().find((c): c is TerraformVariable => c instanceof TerraformVariable && c.friendlyUniqueId === ref[1]);
    if (!variable) {
      return reportProblem(
        scope,
        `cookie: must be exactly a sensitive TerraformVariable's value, not ${String(resolveForDisplay(stack, cookie))} (a local or a function of other values could put the cookie in the JSON or the plan)`,
      );
    }
    if (variable.sensitive !== true) {
      return reportProblem(scope, `cookie: the variable '${variable.friendlyUniqueId}' is not sensitive, so the plan would print the cookie; declare it with sensitive: true`);
    }
    return;
  }
  reportProblem(
    scope,
    `cookie: a literal cookie would be written into the synthesized JSON and the plan; wire a sensitive TerraformVariable (new TerraformVariable(this, 'cookie', { type: 'string', sensitive: true }).stringValue)`,
  );
}
