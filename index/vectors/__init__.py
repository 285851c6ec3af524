"""The vector side: the embedding model (`embedder`: an Embedder over the numpy encoder for a
few short texts, `numpy_bert`, and the torch one for batches, `torch_bert`) and the vector
store searched by meaning (`store`: Chroma, derived from the catalog)."""
