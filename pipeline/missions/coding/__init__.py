"""The coding mission: coding sessions written as real coding-agent transcripts."""
