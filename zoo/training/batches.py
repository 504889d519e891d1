"""Keras batches of selected rows of (memory-mapped) arrays, for training on cached patches."""

import keras
import numpy as np


class RowBatches(keras.utils.PyDataset):
    """Batches of `x[rows]` (and `y[rows]`) as float32, reshuffled every epoch if `seed` is set.

    Args:
        x: `[examples, ...]` array or memmap.
        rows: indices of the examples to use.
        batch_size: examples per batch.
        y: optional targets `[examples, ...]`.
        seed: shuffling seed, or None to keep the order.
    """

    def __init__(self, x, rows, batch_size, y=None, seed=None):
        super().__init__()
        self.x, self.y, self.rows, self.batch_size = x, y, np.asarray(rows), batch_size
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.rows[index * self.batch_size:(index + 1) * self.batch_size])  # sorted: memmap-friendly
        x = np.asarray(self.x[rows], np.float32)
        return x if self.y is None else (x, np.asarray(self.y[rows], np.float32))

    def on_epoch_end(self):
        if self.rng is not None:
            self.rows = self.rng.permutation(self.rows)
