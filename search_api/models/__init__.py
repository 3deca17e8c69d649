"""Response models (wire shapes) and the pure functions that fill them from engine answers:
records, cards, profiles, petitions, graphs, and the clue ledger's rows and files."""
