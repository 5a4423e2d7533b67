"""The tamper-evident evidence log: RFC 9162 Merkle tree, C2SP checkpoints, proofs, witnesses, bundles.

>>> from pollwatch.ledger.merkle import leaf_hash, root_from_leaves
>>> root_from_leaves([leaf_hash(b"")]).hex()[:16]
'6e340b9cffb37a98'
"""
