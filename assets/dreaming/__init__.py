"""Dreaming: the nightly playbook, its entries, and its held-out evaluation."""
