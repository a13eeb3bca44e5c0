"""Missions: the reference agent batches whose logs feed the lake."""
