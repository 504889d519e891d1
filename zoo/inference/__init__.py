"""Inference over recordings: the streaming pipeline, `tag` / `extract` and their results."""
