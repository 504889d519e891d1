"""Distributed engines: the zoo on Apache Beam (`beam_io`, `beam_inference`, `beam_pipeline`)."""
