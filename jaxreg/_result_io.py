"""What results carry in and out: feature names, excluded features put back, and
saving and loading (npz arrays plus a JSON header, never pickle)."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["expand", "feature_names_of", "load", "save", "with_names"]


def feature_names_of(X):
    """The column names of a DataFrame-like X (pandas, polars), as strings; None
    for arrays."""
    cols = getattr(X, "columns", None)
    if cols is None or isinstance(X, np.ndarray):
        return None
    try:
        names = np.asarray([str(c) for c in cols], dtype=object)
    except TypeError:
        return None
    return names if names.size == np.shape(X)[1] else None


def with_names(res, names):
    """``res`` (a PathResult, or a CVResult's path) carrying ``names``."""
    if names is None:
        return res
    if hasattr(res, "path"):  # a CVResult
        return dataclasses.replace(res, path=with_names(res.path, names))
    return dataclasses.replace(res, feature_names=names)


# --------------------------------------------------------------------------- #
# Saving and loading: npz arrays plus a JSON header, never pickle
# --------------------------------------------------------------------------- #
_SAVED = ("PathResult", "MultiTargetPath", "CVResult")
_FORMAT = 1


def _flatten(obj, prefix, arrays, meta):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = prefix + f.name
        if dataclasses.is_dataclass(value):
            meta[key] = {"__result__": type(value).__name__}
            _flatten(value, key + ".", arrays, meta)
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
            arrays[key] = value
        elif value is None or isinstance(value, (bool, int, float, str)):
            meta[key] = value
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            meta[key] = value.item()
        else:
            raise TypeError(f"cannot save the field {key!r} of type {type(value)}.")


def save(obj, path, overwrite):
    import json
    import os

    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path} exists: pass overwrite=True to replace it, or another path."
        )
    arrays, meta = {}, {}
    _flatten(obj, "", arrays, meta)
    header = dict(format=_FORMAT, type=type(obj).__name__, fields=meta)
    tmp = f"{path}.{os.getpid()}.part.npz"
    try:
        np.savez(tmp, __header__=np.asarray(json.dumps(header)), **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load(path):
    """A result saved by ``PathResult.save`` or ``CVResult.save`` (npz arrays and
    a JSON header; no pickle is ever read)."""
    import json

    with np.load(path, allow_pickle=False) as z:
        if "__header__" not in z.files:
            raise ValueError(f"{path} is not a jaxreg result saved by .save().")
        header = json.loads(str(z["__header__"]))
        arrays = {k: z[k] for k in z.files if k != "__header__"}
    if header.get("format") != _FORMAT or header.get("type") not in _SAVED:
        raise ValueError(f"{path} is not a jaxreg result saved by .save().")
    return _build(header["type"], "", header["fields"], arrays)


def _build(kind, prefix, fields, arrays):
    from jaxreg import results

    cls = getattr(results, kind)
    kw = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if key in arrays:
            kw[f.name] = arrays[key]
        elif isinstance(fields.get(key), dict):
            kw[f.name] = _build(fields[key]["__result__"], key + ".", fields, arrays)
        elif key in fields:
            kw[f.name] = fields[key]
    return cls(**kw)


def frame(columns):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_frame needs pandas: pip install pandas.") from None
    return pd.DataFrame(columns)


def expand(res, keep):
    """A result on the kept features (see :func:`jaxreg.path.exclude`) with the
    excluded ones put back: coefficient 0 at every alpha (x_scale NaN)."""
    if keep is None:
        return res
    if hasattr(res, "path"):  # a CVResult
        return dataclasses.replace(res, path=expand(res.path, keep))
    coefs = np.zeros(res.coefs.shape[:-1] + (keep.size,), res.coefs.dtype)
    coefs[..., keep] = res.coefs
    extra = {}
    if res.x_scale is not None:
        x_scale = np.full(keep.size, np.nan)
        x_scale[keep] = res.x_scale
        extra["x_scale"] = x_scale
    return dataclasses.replace(res, coefs=coefs, **extra)
