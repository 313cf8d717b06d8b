import type { Manifest } from './manifest.ts';
import { snippetsMarkdown } from './snippets.ts';

/** README.md placed in the zip bundle (docs/engine.md §4, licences of §14); its "Use it" snippets come from snippets.ts. */
export function bundleReadme(slug: string, m: Manifest, opts: { tflite?: boolean } = {}): string {
  const tflite = opts.tflite
    ? `- \`${slug}.tflite\` — the same head as a TensorFlow Lite model (float32, builtin operators only), input
  float32 [1, 16, 96], output float32 [1, 1]: for openWakeWord with \`inference_framework="tflite"\` and Home
  Assistant's Wyoming openWakeWord add-on, which loads custom wake words from \`/share/openwakeword\`.
`
    : '';
  const grade = m.metrics.quality_grade;
  return `# Wake word "${m.wake_word}" (ViolaWake)

Files:

- \`${slug}.onnx\` — the wake-word head (openWakeWord-compatible). Input \`embeddings\` float32 [batch, 16, 96]
  (16 consecutive speech embeddings, one per 80 ms step), output \`score\` float32 [batch, 1], a probability 0–1.
${tflite}- \`${slug}.json\` — the manifest (\`${m.schema}\`): calibrated threshold, detection defaults, held-out metrics,
  training statistics and the SHA-256 of every model file.
- \`melspectrogram.onnx\`, \`embedding_model.onnx\` — openWakeWord's front end that turns 16 kHz mono audio into
  the embeddings the head reads (from \`${m.frontend.package}\`).

Input audio: 16 kHz, mono, 16-bit PCM magnitudes. The front end runs once per 80 ms step (1,280 samples).

Decision rules: fire when the score is ≥ ${m.threshold.toFixed(2)} for ${m.detection.patience} consecutive step(s),
then wait ${m.detection.refractory_s} s before the next detection. The threshold was calibrated to
${m.metrics.target_fa_per_hour} false accepts per hour on held-out negative audio; held-out miss rate there:
${(m.metrics.miss_rate_at_target * 100).toFixed(1)} %, d′ ${m.metrics.d_prime.toFixed(2)}, grade ${grade}.

## Use it

${snippetsMarkdown({ name: slug, wakeWord: m.wake_word, threshold: m.threshold, tflite: opts.tflite ? true : { reason: null } }, 3)}
## Licences

- \`${slug}.onnx\`${opts.tflite ? `, \`${slug}.tflite\`` : ''} and \`${slug}.json\`: trained for you by ViolaWake Console; the project claims no rights in them.
- \`embedding_model.onnx\`: openWakeWord's re-implementation of Google's speech-embedding model, Apache-2.0.
- \`melspectrogram.onnx\`: an ONNX export of a standard mel spectrogram, distributed with openWakeWord (Apache-2.0).
  openWakeWord's README also places "all included pre-trained models" under CC BY-NC-SA 4.0; our position is that
  these two front-end files are Apache-2.0. No openWakeWord pretrained wake-word head is included in this bundle.
`;
}
