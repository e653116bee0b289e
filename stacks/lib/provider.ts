import type { IConstruct } from 'constructs';
import { TerraformResource, type TerraformProvider } from './cdktf';

/**
 * Puts every resource under `scope` on `provider` (a Docker host of its own, an aliased
 * provider); without one they stay on the stack's default provider. Constructs call it last, so
 * it covers everything they made.
 */
export function useProvider(scope: IConstruct, provider: TerraformProvider | undefined): void {
  if (!provider) return;
  for (const c of scope.node.findAll()) if (c instanceof TerraformResource) c.provider = provider;
}

/** The provider the resources under `scope` use (undefined: the stack's default). */
export function providerOf(scope: IConstruct): TerraformProvider | undefined {
  const r = scope.node.findAll().find((c): c is TerraformResource => c instanceof TerraformResource);
  return r?.provider;
}
