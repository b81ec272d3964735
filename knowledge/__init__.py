"""Knowledge base: multilingual content, its loader and the question matcher."""
