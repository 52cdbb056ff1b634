"""Repository-wide pytest configuration.

The plugin itself is loaded through its ``pytest11`` entry point (installed by
``pip install -e .``); nothing here is needed by users.
"""
