"""Embedding models: loading the verified weights and running them (PyTorch, ONNX Runtime, OpenVINO)."""
