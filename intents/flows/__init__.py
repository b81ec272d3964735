"""Conversation flows: one module each, declaring what it handles."""
