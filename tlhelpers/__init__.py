"""Helpers for the transfer-learning course.

Importing ``tlhelpers`` is cheap: it imports no deep-learning framework. Import the submodule you need::

    from tlhelpers import data, settings, shift      # NumPy / scikit-learn only
    import tlhelpers.torch                            # PyTorch helpers (imports torch)
    import tlhelpers.keras                            # Keras helpers (imports keras / TensorFlow)
"""

__version__ = "0.1.0"
