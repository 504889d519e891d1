"""A shorter start-up for commands that run networks: TensorFlow imported without Keras' optional extras.

Importing TensorFlow imports Keras, and Keras imports scikit-learn (for its
`keras.wrappers`), matplotlib (for `keras.visualization`) and pandas when they
are installed, which they are here: about a third of TensorFlow's import time,
for features no `musiczoo` command uses (benchmarks/RESULTS.md, "Start-up").
Inside a command, those three are hidden while TensorFlow imports and
importable again right after (the command's own `--plot` or scikit-learn use
import them normally); Keras then defines its wrappers without them. Library
users importing `zoo` are not affected: only the command-line process does this.

TensorFlow's start-up notes ("failed call to cuInit" on a machine without a GPU, and in other versions
"Unable to register cuFFT/cuDNN/cuBLAS factory" and the oneDNN notice) are written by native code
straight to descriptor 2 while it imports and first looks for devices; both happen here, inside
`musiczoo_runtime.native_stderr.silenced()`, so they stay off the terminal (the command's own `error:` and
`warning:` lines do not pass through descriptor 2).
"""

import sys

from musiczoo_runtime.native_stderr import silenced

OPTIONAL = ("sklearn", "matplotlib", "pandas")


def import_tensorflow():
    """Imports TensorFlow (and Keras) quietly, skipping Keras' optional scikit-learn, matplotlib and pandas imports."""
    if "tensorflow" in sys.modules:
        return
    hidden = [name for name in OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError, which Keras expects when it is missing
    try:
        with silenced():
            import tensorflow

            tensorflow.config.list_physical_devices()  # initialises the device platforms, and their notes, now
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
