"""Small helpers every layer may use (standard library only): one home per helper."""
