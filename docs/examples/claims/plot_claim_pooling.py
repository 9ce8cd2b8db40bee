"""
Claim: pooling buys translation tolerance
=========================================

Max-pooling is credited with making responses tolerant to small shifts of the
input (**Riesenhuber & Poggio 1999**).  :func:`analysis.claims.claim_pooling`
measures translation tolerance — the correlation between a layer's responses
to shifted and original images — before and after each pooling stage of HMAX
(S1 → C1) and of the pretrained CNN, without training anything.

A pooling stage takes a maximum *and* subsamples the map.  The control is the
same network's convolution read on the pool's grid: the same units at the
same positions, without the maximum (the "all-convolutional" alternative of
**Springenberg et al. 2015**, with the network's own weights), so the
difference isolates what the maximum buys.  Each difference carries a
bootstrap interval over images; a threshold inside it makes the check
borderline.
"""

from analysis.claims import claim_pooling

result = claim_pooling(n_images=16, n_boot=200, rng=0)

# %%
# Each read-out is summarised by a tolerance index: 1 when a shift leaves the
# response pattern unchanged, 0 when it changes it as much as a different
# image would (the dotted lines).

for label, value in result.numbers["tolerance"].items():
    low, high = result.numbers["interval"][label]
    print(f"{label:32s} tolerance index {value:.2f} [{low:.2f}, {high:.2f}]")
print(f"\nverdict: {result.verdict}")
for check in result.checks:
    print(" -", check)
