"""Building the index: which files belong to a project, and what is extracted from each."""
