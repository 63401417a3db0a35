"""The mail pipeline's pure parts: raw message bytes to typed values, without I/O."""
