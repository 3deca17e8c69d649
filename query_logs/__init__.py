"""Users, roles, cases, query applications, the gate, the tamper-evident log and its review."""
