"""The chapters' own code, exported from their notebooks (``make export``).

``chNN.py`` holds chapter NN's framework-neutral exported cells, ``chNN_torch.py`` its
PyTorch cells and ``chNN_tf.py`` its TensorFlow cells (coursetools/export.py). A later
section, the parity section or another chapter imports from them, e.g.
``from recsys_utils.book.ch03_torch import TwoTowerPT``. This package imports nothing
itself: importing ``recsys_utils`` loads no framework.
"""
