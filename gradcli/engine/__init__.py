"""The autograd engine: nodes and their recorded ops (graph.py), the one backward pass
(backward.py), and the PyTorch-like Tensor (tensor.py)."""
