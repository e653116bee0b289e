import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_IMAGES } from '../lib/images';
import { AssetType, Construct, DockerImage, TerraformAsset, TerraformStack } from '../lib/cdktf';
import { useProvider } from '../lib/provider';
import { reportProblem, stopAt } from '../lib/problems';
import type { TerraformProvider } from '../lib/cdktf';

export interface AgentImageProps {
  /** The Docker provider (host) its resources use. @default the stack's default docker provider */
  readonly provider?: TerraformProvider;
  /**
   * Build context: `node-agent/Dockerfile` with the bundled agent beside it, as `npm run build`
   * lays it out.
   * @default '<repository>/dist/image'
   */
  readonly contextPath?: string;
  /** Repository part of the image's name. @default 'muster-node' */
  readonly repository?: string;
  /**
   * The whole image name and tag. The default tag is the stack's own and the build's content hash,
   * so two stacks on one Docker host never retag each other's image (a shared `latest` would flip
   * between their builds and each plan would replace the other's containers).
   * @default '<repository>:<stack id>-<context hash>'
   */
  readonly name?: string;
  /**
   * The image `FROM` uses (the Dockerfile's `BASE_IMAGE` build argument): any image with Node.js 20+
   * and /bin/sh, e.g. a local one for air-gapped hosts.
   * @default 'node:24-bookworm-slim' (DEFAULT_IMAGES.nodeBase)
   */
  readonly baseImage?: string;
}

/**
 * The package's own root: the nearest folder above this file with a package.json. The same from the
 * TypeScript sources (`stacks/constructs/`) and from the compiled kit (`dist/kit/constructs/`, also
 * when installed as `node_modules/muster`), where a fixed `../..` pointed into `dist/dist/`.
 */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const DEFAULT_CONTEXT = path.join(packageRoot(__dirname), 'dist', 'image');

/**
 * The node image, built by Docker from `node-agent/Dockerfile`. The build context is a
 * TerraformAsset whose content hash is a build trigger, so the image is rebuilt when the agent
 * changes, and only then; containers take `imageId`, so a rebuilt image replaces them.
 */
export class AgentImage extends Construct {
  readonly image: DockerImage;
  /** The built image's ID: give this to containers (not the name) so a rebuild replaces them. */
  readonly imageId: string;
  /** Hash of the build context. */
  readonly contextHash: string;
  readonly baseImage: string;
  /** The image's name and tag. */
  readonly name: string;

  constructor(scope: Construct, id: string, props: AgentImageProps = {}) {
    super(scope, id);
    const context = props.contextPath ?? DEFAULT_CONTEXT;
    if (!existsSync(path.join(context, 'Dockerfile')) || !existsSync(path.join(context, 'muster.js'))) {
      reportProblem(this, `contextPath: ${context} has no Dockerfile and muster.js; run "npm run build" first`);
      stopAt(this);
    }
    const asset = new TerraformAsset(this, 'context', { path: context, type: AssetType.DIRECTORY });
    this.contextHash = asset.assetHash;
    this.baseImage = props.baseImage ?? DEFAULT_IMAGES.nodeBase;
    const stackId = TerraformStack.of(this).node.id.toLowerCase().replace(/[^a-z0-9_.-]/g, '-');
    this.name = props.name ?? `${props.repository ?? 'muster-node'}:${stackId}-${asset.assetHash.slice(0, 12).toLowerCase()}`;
    this.image = new DockerImage(this, 'image', {
      name: this.name,
      keepLocally: true,
      buildAttribute: { context: asset.path, dockerfile: 'Dockerfile', buildArgs: { BASE_IMAGE: this.baseImage } },
      triggers: { context_hash: asset.assetHash },
    });
    this.imageId = this.image.imageId;
    useProvider(this, props.provider);
  }
}
