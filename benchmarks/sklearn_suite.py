"""scikit-learn's own tests of its linear models, with jaxreg's estimators in
place of scikit-learn's: a measure of how drop-in the estimators are.

The test files of the installed scikit-learn (``sklearn/linear_model/tests``)
are copied to a scratch folder with a ``conftest.py`` that puts jaxreg's
``Lasso``, ``ElasticNet``, their CV and multi-task versions, ``Ridge`` and
``RidgeCV`` into ``sklearn.linear_model`` before the tests import them (the
private solvers those files also test stay scikit-learn's). Failures are
counted per test function. Many are expected and not defects: messages worded
differently, solver names and iteration counts of coordinate descent, warnings
for cases jaxreg solves exactly (alpha=0, a budget of one epoch that its
solver does not need), coefficients compared at 1e-7 where both solutions are
certified at tol but differ within it.

Run as ``python benchmarks/sklearn_suite.py --out DIR`` (about three minutes
on a 2-core CPU; needs scikit-learn, pytest and pytest-xdist).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

FILES = ("test_coordinate_descent.py", "test_sparse_coordinate_descent.py",
         "test_ridge.py")  # fmt: skip
SWAPPED = ("Lasso", "ElasticNet", "LassoCV", "ElasticNetCV", "MultiTaskLasso",
           "MultiTaskElasticNet", "MultiTaskLassoCV", "MultiTaskElasticNetCV",
           "Ridge", "RidgeCV")  # fmt: skip

CONFTEST = f"""import pytest
import sklearn.linear_model as lm

import jaxreg

for name in {SWAPPED!r}:
    setattr(lm, name, getattr(jaxreg, name))


@pytest.fixture
def global_random_seed():
    return 42
"""


def run_file(folder, name):
    """pytest on one copied file: the summary counts and the failed tests."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "-o", "addopts=", name],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    out = proc.stdout.splitlines()
    failed = [ln.split(" ")[1] for ln in out if ln.startswith(("FAILED", "ERROR"))]
    counts = {}
    for ln in out[-3:]:
        for num, what in re.findall(
            r"(\d+) (passed|failed|skipped|errors?|xfailed)", ln
        ):
            counts[what] = int(num)
    return counts, failed


def main():
    import sklearn

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join("benchmarks", "out", "sklearn-suite"))
    args = ap.parse_args()
    src = os.path.join(os.path.dirname(sklearn.__file__), "linear_model", "tests")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in FILES:
            text = open(os.path.join(src, name)).read()
            # the sparse file imports helpers from the dense one: the copy
            text = text.replace("sklearn.linear_model.tests.test_coordinate_descent",
                                "test_coordinate_descent")  # fmt: skip
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        with open(os.path.join(folder, "conftest.py"), "w") as f:
            f.write(CONFTEST)
        for name in FILES:
            t0 = time.perf_counter()
            counts, failed = run_file(folder, name)
            by_test = collections.Counter(re.sub(r"\[.*", "", t) for t in failed)
            rows.append(dict(file=name, seconds=time.perf_counter() - t0,
                             counts=counts, failed_by_test=dict(by_test)))  # fmt: skip
            print(name, counts, flush=True)
    os.makedirs(args.out, exist_ok=True)
    meta = dict(sklearn=sklearn.__version__, python=sys.version.split()[0],
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))  # fmt: skip
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(meta, rows=rows), f, indent=1)
    lines = [
        "# scikit-learn's linear-model tests with jaxreg's estimators swapped in",
        "",
        f"scikit-learn {meta['sklearn']}, Python {meta['python']}, {meta['date']}.",
        "",
        "| file | passed | failed | errors | skipped/xfailed |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["counts"]
        skip = c.get("skipped", 0) + c.get("xfailed", 0)
        err = c.get("error", 0) + c.get("errors", 0)
        lines.append(f"| {r['file']} | {c.get('passed', 0)} | {c.get('failed', 0)} "
                     f"| {err} | {skip} |")  # fmt: skip
    for r in rows:
        lines += ["", f"## {r['file']}: failures by test", ""]
        for test, n in sorted(r["failed_by_test"].items(), key=lambda kv: -kv[1]):
            lines.append(f"- {test.split('::')[-1]}: {n}")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
