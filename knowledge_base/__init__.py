"""Knowledge base: articles, embeddings and retrieval."""
