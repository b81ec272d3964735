"""The edge: channel adapters, HTTP server, CLI and the composition root."""
