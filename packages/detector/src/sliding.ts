/**
 * The embedding model with a free time axis, for batch mode.
 *
 * `embedding_model.onnx` is a stack of convolutions that never pad along time and three max-pools of stride 2 along
 * time, between a leading Reshape (NHWC [n, 76, 32, 1] → NCHW [n, 1, 76, 32]) and a trailing one ([n, 96, 1, 1] →
 * [n, 1, 1, 96]). Fed T = 76 + 8·(m − 1) mel rows at once it yields m embeddings, the i-th computed from rows
 * 8i … 8i + 75 exactly as a 76-row call would compute it (every pool stays aligned because 8i is a multiple of each
 * pool's cumulative stride), for about a ninth of the work: consecutive windows share 68 of their 76 rows.
 *
 * Only two things in the file fix the time axis at 76: the declared input dimension and the leading Reshape's target
 * shape. This copy changes both in place, without re-encoding the protobuf: the dimension `dim_value: 76` becomes an
 * unnamed symbolic dimension of the same encoded length, and the target shape [-1, 1, 76, 32] becomes [0, 1, -1, 32]
 * (0 keeps the batch dimension, −1 takes the time axis). Nothing else changes, so a 76-row call still computes what
 * the pinned file computes (a test compares the two bit for bit, and sliding against per-window embeddings).
 * The trailing Reshape then returns [n·m, 1, 1, 96] holding the values in [n][96][m] order; callers transpose.
 */

/** The input's declaration: name "input_1", then its shape [unk__314, 76, 32, 1] up to the 76. */
const INPUT_DIMS = hex('0a07696e7075745f31121e0a1c080112180a0a1208756e6b5f5f3331340a02084c');
/** `dim_value: 76` (field 1, varint) → `dim_param: ""` (field 2, empty string): two bytes either way. */
const SYMBOLIC_DIM = hex('1200');
/** Raw int64 data of the leading Reshape's target shape, [-1, 1, 76, 32] → [0, 1, -1, 32]. */
const SHAPE_FIXED = hex('ffffffffffffffff01000000000000004c000000000000002000000000000000');
const SHAPE_FREE = hex('00000000000000000100000000000000ffffffffffffffff2000000000000000');

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Offset of the only occurrence of `needle` in `bytes`; throws when it occurs never or more than once. */
function onlyOffset(bytes: Uint8Array, needle: Uint8Array, what: string): number {
  let found = -1;
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    if (found !== -1) throw new Error(`embedding_model.onnx: ${what} occurs more than once`);
    found = i;
  }
  if (found === -1) throw new Error(`embedding_model.onnx: ${what} not found`);
  return found;
}

/**
 * A copy of the pinned embedding model whose input takes any number of mel rows (≥ 76). Throws for a file that is
 * not the pinned one (the front end verifies the hash first, so that is a programming error).
 */
export function slidingEmbeddingModel(pinned: Uint8Array): Uint8Array {
  const out = pinned.slice();
  const dims = onlyOffset(out, INPUT_DIMS, 'the input declaration');
  out.set(SYMBOLIC_DIM, dims + INPUT_DIMS.length - SYMBOLIC_DIM.length);
  out.set(SHAPE_FREE, onlyOffset(out, SHAPE_FIXED, "the leading Reshape's target shape"));
  return out;
}
