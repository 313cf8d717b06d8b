/**
 * Zip bundle (docs/engine.md §4, docs/formats.md): `<slug>/<slug>.onnx`, `<slug>/<slug>.tflite` (when the TFLite export
 * exists), `<slug>/<slug>.json`, the two front-end models and a README. Every entry carries the model's `created_at`, so the same model always gives the same bytes.
 */
import yazl from 'yazl';
import type { Manifest } from './manifest.ts';
import { slugify } from './manifest.ts';
import { bundleReadme } from './readme.ts';

export interface BundleInput {
  onnx: Uint8Array;
  /** The TFLite export of the head; left out of the bundle when absent. */
  tflite?: Uint8Array | null;
  manifest: Manifest;
  melModel: Uint8Array;
  embeddingModel: Uint8Array;
  /** Defaults to the slug of the wake word. */
  slug?: string;
}

export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export async function createBundle(input: BundleInput): Promise<Uint8Array> {
  const slug = input.slug ?? slugify(input.manifest.wake_word);
  const mtime = new Date(input.manifest.created_at);
  if (Number.isNaN(mtime.getTime())) throw new Error(`invalid created_at: ${input.manifest.created_at}`);
  const zip = new yazl.ZipFile();
  const entries: [string, Uint8Array][] = [
    [`${slug}/${slug}.onnx`, input.onnx],
    ...(input.tflite ? ([[`${slug}/${slug}.tflite`, input.tflite]] as [string, Uint8Array][]) : []),
    [`${slug}/${slug}.json`, Buffer.from(manifestJson(input.manifest), 'utf8')],
    [`${slug}/melspectrogram.onnx`, input.melModel],
    [`${slug}/embedding_model.onnx`, input.embeddingModel],
    [
      `${slug}/README.md`,
      Buffer.from(bundleReadme(slug, input.manifest, { tflite: Boolean(input.tflite) }), 'utf8'),
    ],
  ];
  for (const [name, data] of entries) {
    zip.addBuffer(Buffer.from(data.buffer, data.byteOffset, data.byteLength), name, {
      mtime,
      mode: 0o100644,
      compress: true,
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve());
    zip.outputStream.on('error', reject);
  });
  return new Uint8Array(Buffer.concat(chunks));
}
