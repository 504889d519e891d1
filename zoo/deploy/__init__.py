"""Deployment: SavedModel export for TF Serving, its core-op WAV steps, and a REST/gRPC client."""
