"""The sealed keyring: initialisation with k-of-n SLIP-39 shares, unseal, seal (see docs/vault.md)."""
