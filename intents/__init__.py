"""The conversation: understanding incoming messages and running the flows."""
