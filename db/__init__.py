"""GridDesk data core: no Qt here (tests/test_layers.py checks it)."""
