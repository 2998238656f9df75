"""Data: the simulated world (built in) and, later, MovieLens-100K."""
