"""Audio in: decoding and resampling, the log-mel front end, and the patch and padding rules."""
