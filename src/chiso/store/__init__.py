"""The store as a whole: its identity, where its records live, and what it holds."""
