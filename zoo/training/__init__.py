"""Training: corpora and splits, the patch cache, distillation, agreement, fine-tuning, datasets, portable models."""
