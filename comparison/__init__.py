"""Comparison models (碰撞比对): cross-registry rules that find clues nobody reported.

``definitions`` loads the models from ``models.toml`` (validated data: a bad entry fails at
load, named); ``queries`` builds the engine queries of a run as pure dicts; ``runner`` streams a
run through the engine door page by page (composite aggregations keyed on the person), so memory
stays bounded whatever the registry's size; ``store`` keeps runs, hits and the clue ledger
(问题线索台账) in the SQL store. Who may run a model, and in what scope, is the gate's decision
(search_api): the runner receives the scope as filter clauses and puts them in every query.
"""
