// A one-layer OCI image archive made from files on disk (an OCI image layout in a tar, as `ctr images import`
// reads it), so the kubelet node gets its sandbox image without a registry.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileP } from '../stack/processes.js';

export interface OciImageSpec {
  /** The image's name once imported, e.g. `localhost/multi-eni-pause:dev`. */
  name: string;
  /** Files of the layer: path in the image (relative, e.g. `pause`) → file on disk. Mode and content are kept. */
  files: Record<string, string>;
  entrypoint: string[];
  /** Where to write the archive. */
  archive: string;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export async function writeOciArchive(spec: OciImageSpec): Promise<string> {
  const work = fs.mkdtempSync(`${spec.archive}.work-`);
  try {
    const rootfs = path.join(work, 'rootfs');
    for (const [inImage, onDisk] of Object.entries(spec.files)) {
      const dest = path.join(rootfs, inImage);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(onDisk, dest);
      fs.chmodSync(dest, fs.statSync(onDisk).mode & 0o7777);
    }
    const layerTar = path.join(work, 'layer.tar');
    // Fixed owner and times: the same files give the same layer digest.
    await execFileP('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--sort=name', '-C', rootfs, '-cf', layerTar, '.']);
    const layout = path.join(work, 'layout');
    const blobs = path.join(layout, 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const blob = (buf: Buffer): { digest: string; size: number } => {
      const hex = sha256(buf);
      fs.writeFileSync(path.join(blobs, hex), buf);
      return { digest: `sha256:${hex}`, size: buf.length };
    };
    const layer = blob(fs.readFileSync(layerTar));
    const config = blob(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Entrypoint: spec.entrypoint },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
    );
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': spec.name.split(':').pop() ?? 'latest' },
          },
        ],
      }),
    );
    await execFileP('tar', ['--owner=0', '--group=0', '--numeric-owner', '-C', layout, '-cf', spec.archive, '.']);
    return spec.archive;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
