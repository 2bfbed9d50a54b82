"""Pure renderers: cluster spec (and catalogue) in, configuration text or dicts out."""
