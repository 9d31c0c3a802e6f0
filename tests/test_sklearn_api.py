"""scikit-learn's own estimator checks on every jaxreg estimator.

No check is expected to fail. The suite fits each estimator on a few dozen small
data sets of different shapes, so most of its time is JAX compiling those shapes
(about two minutes on a 2-core CPU): it is marked slow.
"""

import pytest

pytest.importorskip("sklearn")

pytestmark = pytest.mark.slow

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from jaxreg.estimators import (  # noqa: E402
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LassoCV,
    Ridge,
    RidgeCV,
)

ESTIMATORS = [Lasso(), ElasticNet(), Ridge(), LassoCV(), ElasticNetCV(), RidgeCV()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
