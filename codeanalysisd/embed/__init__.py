"""Offline text embeddings for semantic search: all-MiniLM-L6-v2, from weights on disk only."""
