"""Tag a recording with an exported ONNX network, without musiczoo or TensorFlow: librosa + ONNX Runtime.

Usage:
    musiczoo export timbral_temporal --format onnx --input logmel --out export
    python examples/onnx_librosa.py export/timbral_temporal.mtt.logmel.onnx song.mp3 [--top 5] [--json]

The log-mel input follows the front-end parameters stored in the file's
metadata (`musiczoo.frontend`, the same as `musiczoo_runtime.contract.FRONTEND_CONFIG`):
16 kHz mono, centred STFT with reflect padding, n_fft 512, hop 256, Hann
window, power spectrum, 96 Slaney mel bands from 0 to 8 kHz, values rounded
to float16, then log10(1 + 10000 * mel); patches of 187 frames `[batch, 187, 96]`,
3 s apart, whole patches only (a clip under 3 s is repeated end to end to fill
one, as the zoo does), and the clip's tags are the mean over patches.
"""

import argparse
import json
import sys

import librosa
import numpy as np
import onnxruntime

PATCH_FRAMES = 187  # the first 187 of the 188 centred frames of 3 s


def logmel(path, frontend):
    """The log-mel frames `[frames, n_mels]` of an audio file, as the weights were trained on."""
    audio, _ = librosa.load(path, sr=frontend["sample_rate"], mono=True)
    spectrum = librosa.stft(audio, n_fft=frontend["n_fft"], hop_length=frontend["hop_length"], window="hann",
                            center=True, pad_mode="reflect")
    mel = librosa.feature.melspectrogram(S=np.abs(spectrum) ** 2, sr=frontend["sample_rate"],
                                         n_mels=frontend["n_mels"], fmin=frontend["f_min"], fmax=frontend["f_max"],
                                         htk=False, norm="slaney")
    mel = np.minimum(mel, np.finfo(np.float16).max).astype(np.float16).astype(np.float32)
    return np.log10(1.0 + 10000.0 * mel).T


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="an .onnx file written by `musiczoo export NAME --format onnx --input logmel`")
    parser.add_argument("audio", help="an audio file librosa can read")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON (tags, clip probabilities, modules loaded)")
    args = parser.parse_args()

    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    tags, frontend = json.loads(meta["musiczoo.tags"]), json.loads(meta["musiczoo.frontend"])
    frames = logmel(args.audio, frontend)
    if len(frames) < PATCH_FRAMES:  # a clip under 3 s: its frames repeated end to end, as the zoo pads it
        frames = np.tile(frames, (-(-PATCH_FRAMES // len(frames)), 1))[:PATCH_FRAMES]
    starts = range(0, len(frames) - PATCH_FRAMES + 1, PATCH_FRAMES)
    patches = np.stack([frames[s:s + PATCH_FRAMES] for s in starts])
    (probabilities,) = session.run(["probabilities"], {"logmel": patches})
    clip = probabilities.mean(axis=0)
    top = [tags[i] for i in np.argsort(-clip)[:args.top]]
    if args.json:
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "zoo", "kapre"))
        print(json.dumps({"top": top, "clip_probabilities": clip.tolist(), "imported": loaded}))
    else:
        print(f"{args.audio}\t" + ", ".join(f"{tag} {clip[tags.index(tag)]:.2f}" for tag in top))


if __name__ == "__main__":
    main()
