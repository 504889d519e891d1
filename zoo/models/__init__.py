"""The models: building blocks, one module per architecture family, the typed catalog and the weight files."""
