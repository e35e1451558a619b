"""Strategy and model versions: the files people write them in, and their creation, activation
and deactivation (recorded in ``version_activations``). Rows of ``strategies`` and
``probability_models`` are immutable: a change is a new version, and only ``is_active`` moves."""
