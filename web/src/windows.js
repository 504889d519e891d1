// The zoo's patch windows in JavaScript: zoo/signal/patching.py's patch_windows, sample for sample.
// A 16 kHz recording is reflect-padded by 256 samples once at both ends; the patch starting at
// frame s is padded samples [256 s, 256 s + 48128). Patch starts are `hop` frames apart; a final
// partial patch is kept ("repeat") if it adds at least 1 s of audio no whole patch covers.

export const SAMPLE_RATE = 16000;
export const HOP_LENGTH = 256;
export const CENTER_PADDING = 256;
export const PATCH_FRAMES = 187;
export const WINDOW_SAMPLES = (PATCH_FRAMES - 1) * HOP_LENGTH + 512; // 48128
export const MIN_TAIL_SECONDS = 1.0;

/** Whole frames in `seconds`, as musicnn counted them: int(seconds * 16000 / 256). */
export function framesIn(seconds) {
  return Math.trunc((seconds * SAMPLE_RATE) / HOP_LENGTH);
}

/** First frame of every patch of `nFrames` frames (never empty). */
export function patchStarts(nFrames, hop, lastPatch = "repeat") {
  if (nFrames <= PATCH_FRAMES) return [0];
  const starts = [];
  for (let s = 0; s <= nFrames - PATCH_FRAMES; s += hop) starts.push(s);
  const last = starts[starts.length - 1];
  const uncovered = nFrames - (last + Math.max(hop, PATCH_FRAMES));
  if (lastPatch === "repeat" && uncovered >= framesIn(MIN_TAIL_SECONDS)) starts.push(last + hop);
  return starts;
}

/** `samples` (Float32Array, >= 2) with `padding` samples mirrored at both ends (NumPy's "reflect"). */
export function reflectPad(samples, padding = CENTER_PADDING) {
  const n = samples.length;
  const period = 2 * (n - 1);
  const out = new Float32Array(n + 2 * padding);
  for (let i = 0; i < out.length; i++) {
    let j = (((i - padding) % period) + period) % period;
    if (j >= n) j = period - j;
    out[i] = samples[j];
  }
  return out;
}

/**
 * The patches zoo.tag cuts from a recording, as windows of its reflect-padded samples.
 * @param {Float32Array} samples mono 16 kHz, at least 2 samples.
 * @param {number} hopSeconds seconds between patch starts (3 by default).
 * @returns {{starts: number[], windows: Float32Array[]}} windows of <= 48128 samples (the last may be shorter).
 */
export function patchWindows(samples, hopSeconds = 3.0, lastPatch = "repeat") {
  if (samples.length < 2) throw new Error(`a recording needs at least 2 samples, not ${samples.length}`);
  const hop = framesIn(hopSeconds);
  if (hop < 1) throw new Error(`hop ${hopSeconds} s is shorter than one frame`);
  const padded = reflectPad(samples);
  const starts = patchStarts(1 + Math.floor(samples.length / HOP_LENGTH), hop, lastPatch);
  const windows = starts.map((s) => padded.subarray(s * HOP_LENGTH, Math.min(padded.length, s * HOP_LENGTH + WINDOW_SAMPLES)));
  return { starts, windows };
}

/** Windows grouped into batches of equal length (at most `size` rows each), in order. */
export function batches(windows, size = 8) {
  const groups = [];
  let current = [];
  for (let i = 0; i < windows.length; i++) {
    if (current.length && (current.length === size || windows[current[0]].length !== windows[i].length)) {
      groups.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Clip-level probabilities: the mean over patches of `rows` (arrays of equal length). */
export function clipMean(rows) {
  const mean = new Float64Array(rows[0].length);
  for (const row of rows) for (let t = 0; t < row.length; t++) mean[t] += row[t];
  return Array.from(mean, (v) => v / rows.length);
}
