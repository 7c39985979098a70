"""``yishi check``: the fault suite that proves a receipt is never lost or counted twice (docs/faults.md)."""
