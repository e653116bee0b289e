import type { z } from 'zod';
import type { Construct } from 'constructs';
import { resolveForDisplay, TerraformStack, TerraformVariable, Token } from './cdktf';

/** Thrown at synth time; lists every problem with the construct path and the field. */
export class KitValidationError extends Error {}

/** Parses props with a zod schema, or throws one error naming the construct path and each bad field. */
export function parseProps<S extends z.ZodType>(scope: Construct, schema: S, props: unknown): z.output<S> {
  const r = schema.safeParse(props);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  [${scope.node.path}] ${i.path.join('.') || '(props)'}: ${i.message}`);
  throw new KitValidationError(`Invalid props for ${scope.node.path}:\n${lines.join('\n')}`);
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
      throw new KitValidationError(
        `[${scope.node.path}] cookie: must be exactly a sensitive TerraformVariable's value, not ${String(resolveForDisplay(stack, cookie))} (a local or a function of other values could put the cookie in the JSON or the plan)`,
      );
    }
    if (variable.sensitive !== true) {
      throw new KitValidationError(`[${scope.node.path}] cookie: the variable '${variable.friendlyUniqueId}' is not sensitive, so the plan would print the cookie; declare it with sensitive: true`);
    }
    return;
  }
  throw new KitValidationError(
    `[${scope.node.path}] cookie: a literal cookie would be written into the synthesized JSON and the plan; wire a sensitive TerraformVariable (new TerraformVariable(this, 'cookie', { type: 'string', sensitive: true }).stringValue)`,
  );
}
