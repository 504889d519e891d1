"""Start-up of `musiczoo tag` on one short file, per runtime, and what it is made of.

Usage:
    .venv/bin/python benchmarks/onnx_startup.py [--rounds 3]

Two measurements, each in fresh processes, the runtimes interleaved:

- the whole command `musiczoo tag 3s.wav --runtime R` (wall seconds, best of `--rounds`);
- its phases, timed in a child process that does what the command does, one
  step at a time: the interpreter with the command-line module, TensorFlow's
  import (for the front end; as the command does it, see `zoo.cli.startup`),
  the inference API, the front end's first
  call (building and tracing the Kapre graph), the network's construction
  (Keras model and weights, or the ONNX Runtime session on the cached graph)
  and its first call (tracing, or ONNX Runtime's first run).

In the command the front end's first call runs in the reader thread while the
network is built, so the phases add up to more than the command's wall time.
The column "before" runs the TensorFlow runtime with TensorFlow imported
plainly (Keras then also imports scikit-learn, matplotlib and pandas), as the
command did before `zoo.cli.startup`. The ONNX graphs are converted (and
cached) before anything is timed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = {"tensorflow": ("tensorflow", False), "onnx": ("onnx", False), "before": ("tensorflow", True)}
PHASES = ("interpreter + zoo.cli", "import TensorFlow", "import zoo.inference.api", "front end: build + first call",
          "network: build", "network: first call")


def phases(runtime, plain):
    """Child process: prints the seconds of each phase of a `musiczoo tag` start-up as JSON."""
    start = time.perf_counter()
    marks = []

    def mark():
        marks.append(time.perf_counter() - start - sum(marks))

    import numpy as np

    import zoo.cli  # noqa: F401
    from zoo.cli.startup import import_tensorflow

    mark()
    if plain:
        import tensorflow  # noqa: F401
    else:
        import_tensorflow()
    mark()
    from zoo.inference.api import network_function
    mark()
    from zoo.signal.streaming import LogmelStream

    stream = LogmelStream()
    stream.push(np.zeros(48000, np.float32))
    stream.finish()
    mark()
    function = network_function("timbral_temporal", "mtt", None, "float32", runtime, 8)
    mark()
    function(np.zeros((1, 187, 96), np.float32))
    mark()
    print(json.dumps(dict(zip(PHASES, marks))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--phases", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        return phases(*VARIANTS[args.phases])

    import numpy as np
    import soundfile

    from musiczoo_runtime.machine import cpu_name
    from zoo.inference.runtimes import onnx_path

    onnx_path("timbral_temporal", "mtt")
    print(f"CPU: {cpu_name()}, load average {os.getloadavg()[0]:.2f} at the start")
    whole = {variant: [] for variant in VARIANTS}
    parts = {variant: [] for variant in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "3s.wav"
        soundfile.write(clip, 0.1 * np.sin(np.arange(48000) * 0.05).astype(np.float32), 16000)
        for _ in range(args.rounds):
            for variant, (runtime, plain) in VARIANTS.items():
                command = ["tag", str(clip), "--runtime", runtime]
                preamble = "import tensorflow; " if plain else ""
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", f"{preamble}import sys; from zoo.cli import main; "
                                f"sys.exit(main({command!r}))"], check=True, capture_output=True)
                whole[variant].append(time.perf_counter() - start)
                out = subprocess.run([sys.executable, __file__, "--phases", variant], check=True, capture_output=True,
                                     text=True).stdout
                parts[variant].append(json.loads(out.splitlines()[-1]))
    print(f"\n| | {' | '.join(VARIANTS)} |\n|---|{'---|' * len(VARIANTS)}")
    print("| `musiczoo tag 3s.wav` wall (s), best of rounds | "
          + " | ".join(f"{min(whole[v]):.2f}" for v in VARIANTS) + " |")
    for phase in PHASES:
        print(f"| {phase} (s), median | "
              + " | ".join(f"{np.median([p[phase] for p in parts[v]]):.2f}" for v in VARIANTS) + " |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
