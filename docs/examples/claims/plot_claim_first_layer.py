"""
Claim: a CNN's first layer learns V1 simple cells
=================================================

Practitioners say the first layer of a convolutional network learns edge
detectors "like V1 simple cells" (**Krizhevsky, Sutskever & Hinton 2012**).
:func:`analysis.claims.claim_first_layer` measures it.  Every first-layer
kernel of the package's pretrained CNN is fit by a 2D Gabor (**Jones & Palmer
1987**), and the fitted preferred orientation, spatial frequency and Ringach's
nx, ny are compared with macaque V1 (**De Valois et al. 1982**; **Ringach
2002**) by a 1 − KS similarity score divided by its ceiling.  Two V1 models go
through the same pipeline as controls: one whose filters are sampled from the
macaque distributions (it should score near 1) and one whose filters are drawn
uniformly (it should not).
"""

from analysis.claims import claim_first_layer

result = claim_first_layer(n_v1=32, n_boot=200, rng=0)

# %%
# The verdict is computed from the checks below: the kernels must be well fit
# by Gabors (the required check), and their parameters distributed like
# macaque V1's; the two controls must behave as controls, or the verdict is
# "inconclusive".

print(f"verdict: {result.verdict}")
print(result.reason)
for check in (*result.checks, *result.gates):
    print(" -", check)

# %%
# The numbers behind the similarity panel: 1 − KS over its ceiling per
# property, for the CNN and the two control populations.

for name in ("cnn", "v1_macaque", "v1_uniform"):
    scores = result.numbers[name]["scores"]
    cells = ", ".join(f"{p} {scores[p]['normalised']:.2f}"
                      for p in ("orientation", "sf", "nx", "ny")
                      if scores[p]["normalised"] is not None)
    print(f"{name:11s} n={scores['n']:3d}: {cells}")
