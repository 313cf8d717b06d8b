/**
 * Microphone capture through an AudioWorklet with the browser's voice processing (echo cancellation, noise
 * suppression, automatic gain) turned off, so takes sound like what a device microphone hears.
 */

export type BlockListener = (block: Float32Array) => void;

export class MicCapture {
  private readonly listeners = new Set<BlockListener>();
  private closed = false;

  private constructor(
    private readonly context: AudioContext,
    private readonly stream: MediaStream,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
    private readonly sink: GainNode,
  ) {
    node.port.onmessage = (e: MessageEvent<Float32Array>) => {
      for (const l of this.listeners) l(e.data);
    };
  }

  static async open(): Promise<MicCapture> {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error(
        'This browser cannot access a microphone here. Use a current browser over HTTPS or localhost.',
      );
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
        video: false,
      });
    } catch (err) {
      const name = (err as DOMException).name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        throw new Error('Microphone access was blocked. Allow it in the address bar and try again.');
      }
      if (name === 'NotFoundError') throw new Error('No microphone was found. Connect one and try again.');
      throw new Error('The microphone could not be opened.');
    }
    const context = new AudioContext();
    try {
      await context.audioWorklet.addModule('/worklets/capture-processor.js');
      const source = context.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(context, 'violawake-capture', {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        channelCount: 1,
      });
      // The worklet must be pulled by the graph; a muted gain keeps it running without playing the microphone back.
      const sink = context.createGain();
      sink.gain.value = 0;
      source.connect(node).connect(sink).connect(context.destination);
      if (context.state === 'suspended') await context.resume();
      return new MicCapture(context, stream, source, node, sink);
    } catch (err) {
      for (const t of stream.getTracks()) t.stop();
      await context.close();
      throw err;
    }
  }

  get sampleRate(): number {
    return this.context.sampleRate;
  }

  get label(): string {
    return this.stream.getAudioTracks()[0]?.label ?? 'Microphone';
  }

  onBlock(listener: BlockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Collects `seconds` of audio from now on. */
  record(seconds: number, signal?: AbortSignal): Promise<Float32Array> {
    const wanted = Math.round(seconds * this.sampleRate);
    const chunks: Float32Array[] = [];
    let have = 0;
    return new Promise((resolve, reject) => {
      const stop = this.onBlock((block) => {
        chunks.push(block);
        have += block.length;
        if (have >= wanted) {
          stop();
          const out = new Float32Array(wanted);
          let o = 0;
          for (const c of chunks) {
            const n = Math.min(c.length, wanted - o);
            out.set(c.subarray(0, n), o);
            o += n;
            if (o >= wanted) break;
          }
          resolve(out);
        }
      });
      signal?.addEventListener('abort', () => {
        stop();
        reject(new DOMException('Recording cancelled', 'AbortError'));
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.node.port.onmessage = null;
    this.source.disconnect();
    this.node.disconnect();
    this.sink.disconnect();
    for (const t of this.stream.getTracks()) t.stop();
    await this.context.close();
  }
}

/** Peak level of a block in dBFS, for the level meter. */
export function blockLevelDb(block: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < block.length; i++) {
    const a = Math.abs(block[i]);
    if (a > peak) peak = a;
  }
  return 20 * Math.log10(Math.max(peak, 1e-6));
}
