import { App, DockerProvider, TerraformStack, TerraformVariable, Testing } from '../../stacks/lib/cdktf';
import type { Construct } from 'constructs';

export type Synth = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  variable?: Record<string, Record<string, unknown>>;
  output?: Record<string, { value: unknown }>;
};

/** Synthesizes a fresh stack built by `fn` (validations included) and returns the parsed JSON. */
export function synth(fn: (stack: TerraformStack, cookie: string) => void): Synth {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new DockerProvider(stack, 'docker', {});
  const cookie = new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue;
  fn(stack, cookie);
  return JSON.parse(Testing.synth(stack, true)) as Synth;
}

/** The error `fn` throws while building or validating a stack. */
export function synthError(fn: (stack: Construct, cookie: string) => void): string {
  try {
    synth(fn);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected synth to fail');
}

export function resources(s: Synth, type: string): Record<string, unknown>[] {
  return Object.values(s.resource[type] ?? {});
}

export { App };
