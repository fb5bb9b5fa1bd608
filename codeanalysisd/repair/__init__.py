"""Repair: the rule that brings the index and the version store in line with disk, and its use."""
