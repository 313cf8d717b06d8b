/**
 * A small reader of the TFLite flatbuffers this engine writes (inspection and tests): the root Model's version,
 * description, operator codes and the main subgraph's tensors and operators, read with the schema's field slots.
 */
import { ByteBuffer } from 'flatbuffers';

export interface TfliteInfo {
  identifier: string;
  version: number;
  description: string | null;
  operatorCodes: {
    builtinCode: number;
    deprecatedBuiltinCode: number;
    version: number;
    customCode: string | null;
  }[];
  tensors: { name: string | null; shape: number[]; type: number; buffer: number }[];
  inputs: number[];
  outputs: number[];
  operators: { opcodeIndex: number; inputs: number[]; outputs: number[]; optionsType: number }[];
  bufferSizes: number[];
  signatureKeys: string[];
}

/** Field slot n's vtable offset (4 + 2n), as generated code computes it. */
const slot = (n: number) => 4 + 2 * n;

export function readTflite(bytes: Uint8Array): TfliteInfo {
  const bb = new ByteBuffer(bytes);
  const root = bb.readInt32(bb.position()) + bb.position();
  const field = (table: number, n: number) => bb.__offset(table, slot(n));
  const u32 = (t: number, n: number, d = 0) => (field(t, n) ? bb.readUint32(t + field(t, n)) : d);
  const i32 = (t: number, n: number, d = 0) => (field(t, n) ? bb.readInt32(t + field(t, n)) : d);
  const i8 = (t: number, n: number, d = 0) => (field(t, n) ? bb.readInt8(t + field(t, n)) : d);
  const u8 = (t: number, n: number, d = 0) => (field(t, n) ? bb.readUint8(t + field(t, n)) : d);
  const str = (t: number, n: number): string | null =>
    field(t, n) ? (bb.__string(t + field(t, n)) as string) : null;
  const tables = (t: number, n: number): number[] => {
    const o = field(t, n);
    if (!o) return [];
    const start = bb.__vector(t + o);
    const len = bb.__vector_len(t + o);
    return Array.from({ length: len }, (_, i) => bb.__indirect(start + 4 * i));
  };
  const ints = (t: number, n: number): number[] => {
    const o = field(t, n);
    if (!o) return [];
    const start = bb.__vector(t + o);
    return Array.from({ length: bb.__vector_len(t + o) }, (_, i) => bb.readInt32(start + 4 * i));
  };
  const byteLen = (t: number, n: number) => {
    const o = field(t, n);
    return o ? bb.__vector_len(t + o) : 0;
  };
  const identifier = bytes.length >= 8 ? new TextDecoder().decode(bytes.subarray(4, 8)) : '';
  const sg = tables(root, 2)[0];
  if (sg === undefined) throw new Error('TFLite model has no subgraph');
  return {
    identifier,
    version: u32(root, 0),
    description: str(root, 3),
    operatorCodes: tables(root, 1).map((c) => ({
      deprecatedBuiltinCode: i8(c, 0),
      customCode: str(c, 1),
      version: i32(c, 2, 1),
      builtinCode: i32(c, 3),
    })),
    tensors: tables(sg, 0).map((t) => ({
      shape: ints(t, 0),
      type: i8(t, 1),
      buffer: u32(t, 2),
      name: str(t, 3),
    })),
    inputs: ints(sg, 1),
    outputs: ints(sg, 2),
    operators: tables(sg, 3).map((o) => ({
      opcodeIndex: u32(o, 0),
      inputs: ints(o, 1),
      outputs: ints(o, 2),
      optionsType: u8(o, 3),
    })),
    bufferSizes: tables(root, 4).map((b) => byteLen(b, 0)),
    signatureKeys: tables(root, 7).map((s) => str(s, 2) ?? ''),
  };
}
