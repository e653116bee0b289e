/**
 * The one place the kit imports CDKTF and its providers. HashiCorp archived CDKTF on 2025-12-10;
 * its community fork CDK Terrain (`cdktn`, `@cdktn/*`) is a drop-in rename, so moving to it is a
 * change of this file only.
 */
export { App, AssetType, Fn, Lazy, TerraformAsset, TerraformOutput, TerraformStack, TerraformVariable, Testing, Token } from 'cdktf';
export { TerraformResource } from 'cdktf';
export type { ITerraformDependable, TerraformProvider } from 'cdktf';
export { DockerProvider } from '@cdktf/provider-docker/lib/provider';
export { Network as DockerNetwork } from '@cdktf/provider-docker/lib/network';
export { Image as DockerImage } from '@cdktf/provider-docker/lib/image';
export { Container as DockerContainer } from '@cdktf/provider-docker/lib/container';
export type { ContainerUpload, ContainerNetworksAdvanced } from '@cdktf/provider-docker/lib/container';
export { Volume as DockerVolume } from '@cdktf/provider-docker/lib/volume';
export { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
export { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
export { StatefulSetV1 } from '@cdktf/provider-kubernetes/lib/stateful-set-v1';
export { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
export { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
export { RoleV1 } from '@cdktf/provider-kubernetes/lib/role-v1';
export { RoleBindingV1 } from '@cdktf/provider-kubernetes/lib/role-binding-v1';
export { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
export { PodDisruptionBudgetV1 } from '@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1';
export { Construct } from 'constructs';

import { DefaultTokenResolver, StringConcat, Tokenization } from 'cdktf';
import type { IConstruct } from 'constructs';

/** A value as it appears in the synthesized JSON (`${var.dns_image}` for a variable's token). */
export function resolveForDisplay(scope: IConstruct, value: unknown): unknown {
  return Tokenization.resolve(value, { scope, resolver: new DefaultTokenResolver(new StringConcat()) });
}
