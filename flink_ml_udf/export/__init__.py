"""Writing MLeap bundles (scikit-learn pipelines through the ``mleap`` package)."""
