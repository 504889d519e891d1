// The page: model picker, file -> 16 kHz mono (Web Audio) -> worker (patch windows, ONNX graph)
// -> top tags, taggram with a playback cursor, and the JSON record `musiczoo tag --format json` prints.
import { SAMPLE_RATE, clipMean } from "./windows.js";

const $ = (id) => document.getElementById(id);
const TOP = 5;
const MARGIN = { left: 120, right: 70, top: 10, bottom: 30 };
let catalog = null;
let worker = null;
let shown = null; // {startSeconds, endSeconds} of the taggram on screen

function entry() {
  return catalog.models[Number($("model").value)];
}

function showCard() {
  const m = entry();
  const paragraph = (text) => Object.assign(document.createElement("p"), { textContent: text });
  const licence = paragraph(`Licence: ${m.license.name}. ${m.license.attribution} `);
  licence.append(Object.assign(document.createElement("a"), { href: m.license.file, textContent: "Licence text" }));
  $("card").replaceChildren(paragraph(`${m.model} (${m.weights}): ${m.description}`), licence,
    paragraph(`Citation: ${m.citation}`));
}

/** Decodes `file` and resamples it to 16 kHz mono; returns {samples, duration}. */
async function decode(file) {
  const bytes = await file.arrayBuffer();
  const decoded = await new OfflineAudioContext(1, 1, SAMPLE_RATE).decodeAudioData(bytes);
  const length = Math.round((decoded.length * SAMPLE_RATE) / decoded.sampleRate);
  const context = new OfflineAudioContext(1, Math.max(length, 1), SAMPLE_RATE); // one channel: the mean of L and R
  const source = context.createBufferSource();
  source.buffer = decoded;
  source.connect(context.destination);
  source.start();
  const rendered = await context.startRendering();
  return { samples: rendered.getChannelData(0), duration: decoded.duration };
}

function infer(samples, graph) {
  worker ??= new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.error) reject(new Error(data.error));
      else if (data.probabilities) resolve(data);
      else {
        $("progress").max = data.total;
        $("progress").value = data.progress;
        $("status").textContent = `Tagging: ${data.progress} of ${data.total} patches`;
      }
    };
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage({ graph, samples, hopSeconds: catalog.hop_seconds });
  });
}

function viridis(p) {
  const lut = catalog.colormap;
  const [r, g, b] = lut[Math.min(lut.length - 1, Math.max(0, Math.floor(p * lut.length)))];
  return `rgb(${r},${g},${b})`;
}

function drawTaggram(tags, probabilities, startSeconds, endSeconds) {
  const canvas = $("taggram");
  const ctx = canvas.getContext("2d");
  const width = canvas.width - MARGIN.left - MARGIN.right;
  const height = canvas.height - MARGIN.top - MARGIN.bottom;
  const x = (i) => Math.round(MARGIN.left + (i * width) / probabilities.length); // whole pixels: no seams
  const y = (t) => Math.round(MARGIN.top + (t * height) / tags.length);
  const cellH = height / tags.length;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  probabilities.forEach((row, i) => row.forEach((p, t) => {
    ctx.fillStyle = viridis(p);
    ctx.fillRect(x(i), y(t), x(i + 1) - x(i), y(t + 1) - y(t));
  }));
  const barLeft = canvas.width - MARGIN.right + 12;
  for (let py = 0; py < height; py++) { // the colour bar: probability 1 at the top, 0 at the bottom
    ctx.fillStyle = viridis(1 - py / height);
    ctx.fillRect(barLeft, MARGIN.top + py, 14, 1);
  }
  ctx.fillStyle = "#222";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  tags.forEach((tag, t) => ctx.fillText(tag, MARGIN.left - 4, MARGIN.top + (t + 0.5) * cellH));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const span = endSeconds - startSeconds;
  const step = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600].find((s) => span / s <= 12) ?? 1200;
  for (let s = Math.ceil(startSeconds / step) * step; s <= endSeconds; s += step) {
    ctx.fillText(`${s}`, MARGIN.left + ((s - startSeconds) / span) * width, canvas.height - MARGIN.bottom + 4);
  }
  ctx.fillText("time (s)", MARGIN.left + width / 2, canvas.height - 14);
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (const p of [0, 0.2, 0.4, 0.6, 0.8, 1]) ctx.fillText(p.toFixed(1), barLeft + 18, MARGIN.top + (1 - p) * height);
  shown = { startSeconds, endSeconds };
}

function drawCursor() {
  const canvas = $("cursor");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (shown) {
    const width = canvas.width - MARGIN.left - MARGIN.right;
    const t = $("player").currentTime;
    const x = MARGIN.left + ((t - shown.startSeconds) / (shown.endSeconds - shown.startSeconds)) * width;
    ctx.strokeStyle = "#ff3030";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, MARGIN.top);
    ctx.lineTo(x, canvas.height - MARGIN.bottom);
    ctx.stroke();
  }
  if (!$("player").paused) requestAnimationFrame(drawCursor);
}

async function tagFile(file) {
  const m = entry();
  $("status").textContent = `Decoding ${file.name}`;
  $("progress").value = 0;
  $("results").textContent = "";
  try {
    const { samples, duration } = await decode(file);
    if (samples.length < 2) throw new Error(`${file.name} holds no audio (fewer than 2 samples at 16 kHz)`);
    const { starts, probabilities } = await infer(samples, m.graph);
    const clip = clipMean(probabilities);
    const record = {
      file: file.name, model: m.model, weights: m.weights, duration: Math.round(duration * 1000) / 1000,
      tags: Object.fromEntries(m.tags.map((tag, t) => [tag, Math.round(clip[t] * 1e6) / 1e6])),
    };
    const line = JSON.stringify(record);
    const order = m.tags.map((tag, t) => [tag, clip[t]]).sort((a, b) => b[1] - a[1]).slice(0, TOP);
    $("title").textContent = `${file.name}: ${m.model} (${m.weights}), ${starts.length} patches`;
    $("top").replaceChildren(...order.map(([tag, p]) =>
      Object.assign(document.createElement("li"), { textContent: `${tag} ${p.toFixed(2)}` })));
    const hop = starts.length > 1 ? (starts[1] - starts[0]) * 256 / SAMPLE_RATE : 3.0;
    const times = starts.map((s) => (s * 256) / SAMPLE_RATE);
    $("output").hidden = false;
    drawTaggram(m.tags, probabilities, times[0], times[times.length - 1] + hop);
    const player = $("player");
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(file);
    drawCursor();
    const download = $("download");
    if (download.href) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([line + "\n"], { type: "application/json" }));
    download.download = `${file.name.replace(/\.[^.]*$/, "")}.tags.json`;
    $("results").textContent = line;
    $("status").textContent = `Done: ${file.name}`;
  } catch (error) {
    $("status").textContent = `Could not tag ${file.name}: ${error.message}. Try another file or format (WAV, FLAC, OGG, MP3).`;
  }
}

async function main() {
  const response = await fetch("catalog.json");
  if (!response.ok) throw new Error(`catalog.json: HTTP ${response.status}; build the page with make web`);
  catalog = await response.json();
  $("model").replaceChildren(...catalog.models.map((m, i) =>
    Object.assign(document.createElement("option"), { value: String(i), textContent: `${m.model} (${m.weights})` })));
  $("model").addEventListener("change", showCard);
  showCard();
  $("file").addEventListener("change", () => $("file").files[0] && tagFile($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) tagFile(event.dataTransfer.files[0]);
  });
  $("player").addEventListener("play", drawCursor);
  $("player").addEventListener("seeked", drawCursor);
}

main().catch((error) => { $("status").textContent = `The page could not start: ${error.message}`; });
