"""Redis adapters: attack-protection counters shared by every node of a deployment."""
