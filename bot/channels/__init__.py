"""Channel adapters: a platform's updates in, the engine's replies out."""
