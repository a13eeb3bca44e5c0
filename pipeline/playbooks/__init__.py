"""Versioned playbooks: the model, the on-disk store, review operations and exports."""
