// Runs a waveform-in graph on a recording's patch windows, off the page's thread.
// In: {graph: url, samples: Float32Array (16 kHz mono), hopSeconds}. Out: {progress: done/total}
// messages, then {starts, probabilities: number[][]} (one row of tag probabilities per patch) or {error}.
import * as ort from "./ort/ort.wasm.min.mjs";
import { batches, patchWindows } from "./windows.js";

ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain static server does not give

const sessions = new Map();

async function session(graph) {
  if (!sessions.has(graph)) sessions.set(graph, await ort.InferenceSession.create(graph, { executionProviders: ["wasm"] }));
  return sessions.get(graph);
}

self.onmessage = async ({ data }) => {
  try {
    const run = await session(data.graph);
    const { starts, windows } = patchWindows(data.samples, data.hopSeconds);
    const probabilities = new Array(windows.length);
    let done = 0;
    self.postMessage({ progress: 0, total: windows.length });
    for (const group of batches(windows)) {
      const width = windows[group[0]].length;
      const input = new Float32Array(group.length * width);
      group.forEach((w, row) => input.set(windows[w], row * width));
      const feeds = { [run.inputNames[0]]: new ort.Tensor("float32", input, [group.length, width]) };
      const output = (await run.run(feeds))[run.outputNames[0]];
      const tags = output.dims[1];
      group.forEach((w, row) => { probabilities[w] = Array.from(output.data.subarray(row * tags, (row + 1) * tags)); });
      done += group.length;
      self.postMessage({ progress: done, total: windows.length });
    }
    self.postMessage({ starts, probabilities });
  } catch (error) {
    self.postMessage({ error: String(error && error.message ? error.message : error) });
  }
};
