"""
Claim: simple and complex cells, which CNN units lack
=====================================================

CNNs descend from Hubel & Wiesel's simple and complex cells, and in V1 the two
classes show up as a bimodal distribution of the modulation ratio F1/F0 to
drifting gratings (**Skottun et al. 1991**); CNN units are said to lack it
(**Marques, Schrimpf & DiCarlo 2021**).  :func:`analysis.claims.claim_hubel_wiesel`
shows the same drifting gratings to the spiking V1 layer (LIF simple cells and
complex cells that pool them) and, frame by frame, to every layer of the
pretrained CNN, and measures F1/F0 of every driven unit.

A small spiking model (4 orientations, one spatial frequency, 1 s movies)
keeps the example quick.
"""

from analysis.claims import claim_hubel_wiesel

result = claim_hubel_wiesel(duration=1.0, display_size=32,
                            v1={"orientations": (0.0, 45.0, 90.0, 135.0), "sfs": (2.0,)},
                            rng=0)

# %%
# Per population: driven units, the fraction with F1/F0 > 1 (simple), and the
# bimodality coefficient (> 5/9 suggests two modes).

for name, layer in result.numbers["layers"].items():
    print(f"{name:16s} {layer['n_driven']:3d} driven, {layer['fraction_simple']:.0%} simple, "
          f"bimodality {layer['bimodality']:.2f}{'  split' if layer['split'] else ''}")
print(f"\nverdict: {result.verdict}")
print(result.reason)
