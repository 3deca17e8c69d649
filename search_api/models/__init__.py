"""Response models (wire shapes) and the pure functions that fill them from engine answers."""
