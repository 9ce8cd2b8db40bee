"""
Claim: a CNN's first layer learns V1 simple cells
=================================================

Practitioners say the first layer of a convolutional network learns edge
detectors "like V1 simple cells" (**Krizhevsky, Sutskever & Hinton 2012**).
:func:`analysis.claims.claim_first_layer` measures it.  Every first-layer
kernel of the package's pretrained CNN is fit by a 2D Gabor (**Jones & Palmer
1987**), and every first-layer unit is recorded like a V1 neuron under
Marques et al.'s orientation and spatial-frequency protocols: its orientation
bandwidth, circular variance (**Ringach et al. 2002**), peak sf (**De Valois
et al. 1982**) and sf bandwidth (**Schiller et al. 1976**) are scored against
the published macaque histograms the way Brain-Score does (**Marques, Schrimpf
& DiCarlo 2021**), each divided by its ceiling and with a bootstrap interval
over units.  Two banks of Gabor filters go through the same pipeline as
controls: one sampled from the macaque distributions (it must score V1-like)
and one drawn uniformly (for comparison: on these four properties a bank of
Gabors with uniform parameters can score close to the macaque-sampled one).
"""

from analysis.claims import claim_first_layer

result = claim_first_layer(n_v1=32, n_boot=200, rng=0)

# %%
# The verdict is computed from the checks below: the kernels must be well fit
# by Gabors (the required check), and their parameters distributed like
# macaque V1's; the macaque-sampled control must score V1-like, or the verdict
# is "inconclusive".

print(f"verdict: {result.verdict}")
print(result.reason)
for check in (*result.checks, *result.gates):
    print(" -", check)

# %%
# The numbers behind the similarity panel: the ceiled score per property, for
# the network and the two control banks.

for name in ("network", "v1_macaque", "v1_uniform"):
    scores = result.numbers[name]["scores"]
    cells = ", ".join(f"{p} {scores[p]['ceiled']:.2f}"
                      for p in ("or_bandwidth", "circular_variance", "peak_sf", "sf_bandwidth")
                      if scores[p]["ceiled"] is not None)
    print(f"{name:11s} n={scores['n_units']:3d}: {cells}")
