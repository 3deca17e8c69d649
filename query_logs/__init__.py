"""Why a query may run and the record of it: cases, query applications (the purpose), cross-tier
grants, the gate's decision (the scope), the tamper-evident log with its Recorder, the review."""
