"""Gold-set evaluation: metrics (pure functions) and the runner."""
