"""Generation rules, the model catalog and the ports the adapters implement. No AWS here."""
