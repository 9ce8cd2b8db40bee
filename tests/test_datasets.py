"""Labelled datasets: balance, determinism, honest splits, learnable classes, validation."""

import time

import numpy as np
import pytest
import scipy.ndimage

from stimuli.datasets import (
    SHAPE_CLASSES,
    Dataset,
    faces_dataset,
    natural_patches_dataset,
    shapes_dataset,
)
from stimuli.natural import natural_image


def assert_well_formed(ds, n_per_class, image_shape):
    n_test = round(n_per_class * ds.params["test_fraction"])
    assert ds.x_train.dtype == ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    assert ds.x_train.shape == (ds.n_classes * (n_per_class - n_test), *image_shape)
    assert ds.x_test.shape == (ds.n_classes * n_test, *image_shape)
    np.testing.assert_array_equal(np.bincount(ds.y_train), n_per_class - n_test)
    np.testing.assert_array_equal(np.bincount(ds.y_test), n_test)
    for x in (ds.x_train, ds.x_test):
        assert np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0


def assert_identical(a, b):
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.class_names == b.class_names and a.params == b.params


def assert_disjoint(ds):
    train = {img.tobytes() for img in ds.x_train}
    assert not any(img.tobytes() in train for img in ds.x_test)


def nearest_mean_accuracy(ds, features):
    """Test accuracy of a nearest-class-mean classifier on ``features(images)``."""
    f_train, f_test = features(ds.x_train), features(ds.x_test)
    means = np.stack([f_train[ds.y_train == k].mean(0) for k in range(ds.n_classes)])
    distances = ((f_test[:, None, :] - means[None]) ** 2).sum(-1)
    return float((distances.argmin(1) == ds.y_test).mean())


def amplitude_spectrum(images):
    """|FFT|: blind to position and to contrast polarity, like the shapes' nuisances."""
    return np.abs(np.fft.fft2(images)).reshape(len(images), -1)


# --------------------------------------------------------------------------- shapes


def test_shapes_balanced_deterministic_and_disjoint():
    ds = shapes_dataset(40, size=24, rng=5)
    assert ds.name == "shapes" and ds.class_names == SHAPE_CLASSES and ds.n_classes == 6
    assert_well_formed(ds, 40, (24, 24))
    assert_identical(ds, shapes_dataset(40, size=24, rng=5))
    assert not np.array_equal(ds.x_train, shapes_dataset(40, size=24, rng=6).x_train)
    assert_disjoint(ds)


def test_shapes_same_generator_state_gives_same_dataset():
    a = shapes_dataset(10, size=16, rng=np.random.default_rng(3))
    b = shapes_dataset(10, size=16, rng=np.random.default_rng(3))
    assert_identical(a, b)
    assert a.params["rng"] == "Generator"


def test_shapes_labels_match_class_names():
    ds = shapes_dataset(30, size=32, noise=0.0, contrast=(1.0, 1.0), rng=0)
    images = np.concatenate([ds.x_train, ds.x_test])
    labels = np.concatenate([ds.y_train, ds.y_test])
    for image, label in zip(images, labels, strict=True):
        name = ds.class_names[label]
        shape = np.abs(image) > 0.5
        # holes: background components not touching the border
        background, n_bg = scipy.ndimage.label(~shape)
        border = set(
            np.unique(np.concatenate([background[[0, -1]].ravel(), background[:, [0, -1]].ravel()]))
        )
        holes = len(set(range(1, n_bg + 1)) - border)
        assert holes == (1 if name == "ring" else 0), name
        # elongation: ratio of the principal second moments of the shape
        r, c = np.nonzero(shape)
        eig = np.linalg.eigvalsh(np.cov(np.stack([r, c]).astype(float)))
        elongation = eig[1] / eig[0]
        if name == "bar":
            assert elongation > 4, name
        else:
            assert elongation < 1.6, name


def test_shapes_have_both_polarities_and_requested_noise():
    ds = shapes_dataset(50, size=32, classes=("disk", "square"), noise=0.2, rng=1)
    images = ds.x_train
    peaks = images[
        np.arange(len(images)),
        *np.unravel_index(np.abs(images).reshape(len(images), -1).argmax(1), images.shape[1:]),
    ]
    assert (peaks > 0).any() and (peaks < 0).any()
    corner = images[:, :3, :3]  # background of most images: pure noise
    assert np.median(np.abs(corner)) == pytest.approx(0.2 * 0.6745, rel=0.35)


def test_shape_classes_are_learnable():
    ds = shapes_dataset(100, size=32, rng=2)
    accuracy = nearest_mean_accuracy(ds, amplitude_spectrum)
    chance = 1 / ds.n_classes
    assert accuracy > 2.5 * chance, f"nearest-mean accuracy {accuracy:.2f}, chance {chance:.2f}"


def test_shapes_generation_is_fast():
    shapes_dataset(10, rng=0)  # warm-up
    start = time.perf_counter()
    shapes_dataset(500, size=32, rng=0)  # 3000 images
    assert time.perf_counter() - start < 1.5


# --------------------------------------------------------------------------- natural patches


def locate(patch, image):
    """Top-left (row, col) where a re-normalised patch was cut, by normalised correlation."""
    from skimage.feature import match_template

    score = match_template(image, patch)
    best = np.unravel_index(score.argmax(), score.shape)
    assert score[best] > 0.999, "patch must come from this image"
    return best


def test_natural_patches_balanced_deterministic_and_from_disjoint_strips():
    sources = ("brick", "gravel")
    ds = natural_patches_dataset(12, size=16, sources=sources, rng=4)
    assert ds.name == "natural_patches" and ds.class_names == sources
    assert_well_formed(ds, 12, (16, 16))
    assert_identical(ds, natural_patches_dataset(12, size=16, sources=sources, rng=4))
    assert_disjoint(ds)
    for k, name in enumerate(sources):
        image = natural_image(name)
        boundary = image.shape[1] - int(np.ceil(0.25 * image.shape[1]))
        for patch in ds.x_train[ds.y_train == k][:2]:
            assert locate(patch, image)[1] + 16 <= boundary, "training patch in training strip"
        for patch in ds.x_test[ds.y_test == k][:2]:
            assert locate(patch, image)[1] >= boundary, "test patch in held-out strip"


def test_natural_patches_default_sources_are_learnable():
    ds = natural_patches_dataset(60, rng=0)
    assert_well_formed(ds, 60, (32, 32))
    accuracy = nearest_mean_accuracy(ds, lambda x: np.log(amplitude_spectrum(x) + 1e-3))
    assert accuracy > 2.5 / ds.n_classes


def test_whitened_natural_patches_differ_and_stay_in_range():
    plain = natural_patches_dataset(4, size=16, sources=("grass", "brick"), rng=0)
    white = natural_patches_dataset(4, size=16, sources=("grass", "brick"), rng=0, whiten=True)
    assert_well_formed(white, 4, (16, 16))
    assert white.params["whiten"] is True
    assert not np.array_equal(plain.x_train, white.x_train)


# --------------------------------------------------------------------------- faces


def test_faces_split_labels_and_conversion():
    import skimage.data

    ds = faces_dataset(rng=0)
    assert ds.class_names == ("non-face", "face") and ds.name == "faces"
    assert_well_formed(ds, 100, (25, 25))
    assert_identical(ds, faces_dataset(rng=0))
    assert not np.array_equal(ds.y_train, faces_dataset(rng=1).y_train)
    raw = skimage.data.lfw_subset()
    centred = raw - raw.mean(axis=(1, 2), keepdims=True)
    converted = (centred / np.abs(centred).max(axis=(1, 2), keepdims=True)).reshape(200, -1)
    seen = []
    for x, y in [(ds.x_train, ds.y_train), (ds.x_test, ds.y_test)]:
        distance = ((x.reshape(len(x), 1, -1) - converted[None]) ** 2).sum(-1)
        index = distance.argmin(1)
        assert distance.min(1).max() < 1e-8
        np.testing.assert_array_equal(y, (index < 100).astype(int))  # first 100 are faces
        seen.append(set(index))
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 200


def test_faces_resized():
    ds = faces_dataset(test_fraction=0.2, rng=0, size=32)
    assert_well_formed(ds, 100, (32, 32))
    assert ds.params["size"] == 32


def test_face_classes_are_learnable_from_pixels():
    ds = faces_dataset(rng=3)
    assert nearest_mean_accuracy(ds, lambda x: x.reshape(len(x), -1)) > 0.75


# --------------------------------------------------------------------------- Dataset


def test_dataset_validates_and_reprs():
    x = np.zeros((4, 5, 5), np.float32)
    y = np.array([0, 1, 0, 1])
    ds = Dataset(x, y, x[:2], y[:2], ("a", "b"), "toy", {"k": 1})
    assert ds.n_classes == 2
    text = repr(ds)
    assert "toy" in text and "train=4" in text and "test=2" in text and "'a'" in text
    with pytest.raises(ValueError, match="y_train must have one label per image"):
        Dataset(x, y[:3], x, y, ("a", "b"), "toy")
    with pytest.raises(ValueError, match=r"y_test labels must be in \[0, 1\]"):
        Dataset(x, y, x, y + 1, ("a", "b"), "toy")
    with pytest.raises(TypeError, match="y_train must hold integer labels"):
        Dataset(x, y.astype(float), x, y, ("a", "b"), "toy")
    with pytest.raises(ValueError, match="same shape"):
        Dataset(x, y, np.zeros((4, 6, 6)), y, ("a", "b"), "toy")
    with pytest.raises(ValueError, match="x_test must be finite"):
        Dataset(x, y, np.full_like(x, np.nan), y, ("a", "b"), "toy")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: shapes_dataset(1), ValueError, "n_per_class must be >= 2"),
        (lambda: shapes_dataset(2.5), TypeError, "n_per_class must be an integer"),
        (lambda: shapes_dataset(4, size=4), ValueError, "size must be >= 8"),
        (
            lambda: shapes_dataset(4, classes=("disk", "blob")),
            ValueError,
            "classes entries must be among",
        ),
        (lambda: shapes_dataset(4, classes=("disk",)), ValueError, "at least two classes"),
        (lambda: shapes_dataset(4, classes=("disk", "disk")), ValueError, "must not repeat"),
        (lambda: shapes_dataset(4, classes="disk"), TypeError, "classes must be a sequence"),
        (lambda: shapes_dataset(4, radius=(0.3, 0.2)), ValueError, "radius must satisfy"),
        (lambda: shapes_dataset(4, radius=(0.1, 0.6)), ValueError, "radius"),
        (lambda: shapes_dataset(4, contrast=(0.0, 1.0)), ValueError, "contrast must satisfy"),
        (lambda: shapes_dataset(4, contrast=(0.5,)), ValueError, "contrast must be a pair"),
        (lambda: shapes_dataset(4, noise=-0.1), ValueError, r"noise must be in \[0.0, 100.0\]"),
        (lambda: shapes_dataset(4, noise=np.nan), ValueError, "noise must be finite"),
        (lambda: shapes_dataset(4, test_fraction=1.0), ValueError, "test_fraction must be in"),
        (lambda: shapes_dataset(4, test_fraction=0.0), ValueError, "test_fraction"),
        (
            lambda: shapes_dataset(2, test_fraction=0.1),
            ValueError,
            "test_fraction=0.1 with n_per_class=2 gives 0 test",
        ),
        (lambda: shapes_dataset(4, rng=1.5), TypeError, "rng"),
        (lambda: natural_patches_dataset(1), ValueError, "n_per_class must be >= 2"),
        (
            lambda: natural_patches_dataset(4, sources=("brick", "lena")),
            ValueError,
            "sources entry must be one of",
        ),
        (
            lambda: natural_patches_dataset(4, sources=("brick",)),
            ValueError,
            "sources must name at least two",
        ),
        (lambda: natural_patches_dataset(4, size=300), ValueError, "size=300 is too large"),
        (lambda: natural_patches_dataset(4, whiten="no"), TypeError, "whiten"),
        (lambda: natural_patches_dataset(4, min_std=-1), ValueError, "min_std"),
        (lambda: faces_dataset(test_fraction=0.001), ValueError, "gives 0 test images"),
        (lambda: faces_dataset(size=2), ValueError, "size must be >= 4"),
        (lambda: faces_dataset(size=20.0), TypeError, "size must be an integer"),
    ],
    ids=[
        "n-one",
        "n-float",
        "size-small",
        "class-unknown",
        "class-single",
        "class-repeat",
        "classes-string",
        "radius-reversed",
        "radius-big",
        "contrast-zero",
        "contrast-short",
        "noise-negative",
        "noise-nan",
        "fraction-one",
        "fraction-zero",
        "fraction-empty",
        "rng-float",
        "patches-n-one",
        "source-unknown",
        "source-single",
        "patch-too-big",
        "whiten-string",
        "min-std-negative",
        "faces-fraction",
        "faces-size",
        "faces-size-float",
    ],
)
def test_datasets_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
