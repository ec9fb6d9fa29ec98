"""Knowledge base: articles, chunking, the FAISS index and retrieval."""
