"""Unit tests: pure, fast, no servers."""
