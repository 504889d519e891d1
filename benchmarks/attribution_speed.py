"""Time and completeness of the attribution methods on a 30 s real recording, per method and model.

The recording is the bundled clip followed by its first 10 s (30 s, 10 patches).
Each run goes from the waveform to the maps (one decode and one front-end pass,
as `musiczoo explain attribute` does) for the clip's top tag. For integrated
gradients it also prints the accuracy-time curve over the budget of gradients
per patch (the tolerance set to 0 so the budget decides): the largest and the
median completeness gap |sum of the map - (logit - baseline logit)| and the
share of the tag's evidence (logit - baseline logit) the map accounts for,
1 - |gap| / |logit - baseline logit|, at its worst patch. The default budget
(`zoo.explain.attribution.FAST_MAX_POINTS`) is chosen from this curve.

    .venv/bin/python benchmarks/attribution_speed.py [--models timbral_temporal vgg] [--budgets 4 8 16 32]
                                                     [--methods saliency gradcam smoothgrad]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musiczoo_runtime.contract import SAMPLE_RATE  # noqa: E402
from zoo.explain.attribution import FAST_MAX_POINTS, attribute, evidence_share  # noqa: E402
from zoo.inference.api import tag  # noqa: E402
from musiczoo_runtime.machine import cpu_name  # noqa: E402
from musiczoo_runtime.audio import open_audio  # noqa: E402

EXAMPLE = ROOT / "examples" / "traveling_minstrels.ogg"


def thirty_seconds():
    """The bundled 20 s clip followed by its first 10 s `[480000]`."""
    waveform = open_audio(str(EXAMPLE)).read()
    return np.concatenate([waveform, waveform[:10 * SAMPLE_RATE]])


def run(waveform, model, top, method, **settings):
    """One attribution from the waveform: (seconds, result)."""
    began = time.perf_counter()
    result = attribute(waveform, model, "mtt", top, method, sample_rate=SAMPLE_RATE, **settings)
    return time.perf_counter() - began, result


def completeness(result):
    """(largest |gap|, median |gap|, worst patch's share of its evidence, share of the clip's evidence)."""
    gap = np.abs(result.details["completeness_gap"])
    rise = np.abs(result.logits - result.details["baseline_logit"])
    return (gap.max(), float(np.median(gap)), float((1 - gap / np.maximum(rise, 1e-12)).min()),
            evidence_share(result)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["timbral_temporal", "vgg"])
    parser.add_argument("--budgets", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--methods", nargs="*", default=["saliency", "gradcam", "smoothgrad"],
                        help="the other methods timed (default: all three)")
    args = parser.parse_args()
    waveform = thirty_seconds()
    print(f"CPU: {cpu_name()}; clip: {len(waveform) / SAMPLE_RATE:.0f} s (bundled clip + its first 10 s)")
    print("model\tmethod\tsettings\tseconds\tlargest |gap|\tmedian |gap|\tworst patch's evidence share\t"
          "clip's evidence share")
    for model in args.models:
        top = tag(waveform, sample_rate=SAMPLE_RATE, model=model).top(1)[0][0]
        run(waveform, model, top, "saliency")  # builds the network and traces the functions once
        for method in args.methods:
            seconds, _ = run(waveform, model, top, method)
            print(f"{model}\t{method}\t-\t{seconds:.1f}\t-\t-\t-\t-", flush=True)
        for budget in args.budgets:
            seconds, result = run(waveform, model, top, "integrated_gradients", tolerance=0.0, max_points=budget)
            largest, median, worst, share = completeness(result)
            mark = " (default)" if budget == FAST_MAX_POINTS else ""
            print(f"{model}\tintegrated_gradients\t{budget} gradients/patch{mark}\t{seconds:.1f}\t{largest:.2e}\t"
                  f"{median:.2e}\t{worst:.1%}\t{share:.1%}", flush=True)


if __name__ == "__main__":
    main()
