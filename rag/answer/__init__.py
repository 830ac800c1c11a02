"""Making a cited answer from passages: question analysis, evidence, extractive and generative
composers, verification of generated text."""
