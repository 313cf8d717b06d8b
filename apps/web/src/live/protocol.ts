/** Messages between the live-test page and its detector Web Worker. */

export type ToWorker =
  | {
      type: 'init';
      mel: ArrayBuffer;
      embedding: ArrayBuffer;
      head: ArrayBuffer;
      name: string;
      manifest: unknown;
      threshold: number;
      sampleRate: number;
    }
  | { type: 'audio'; pcm: Float32Array }
  | { type: 'threshold'; value: number }
  | { type: 'stop' };

export interface ScorePoint {
  step: number;
  t: number;
  score: number;
  warmingUp: boolean;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'scores'; points: ScorePoint[] }
  | { type: 'detection'; t: number; score: number }
  | { type: 'error'; message: string };
