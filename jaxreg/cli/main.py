"""The argument parser of ``jaxreg`` and :func:`main`, which turns every failure
into an exit status and (for user mistakes) one line on stderr."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys

from jaxreg.cli.base import PROG, CLIError
from jaxreg.cli.commands import cmd_bench, cmd_cv, cmd_path, cmd_ridge
from jaxreg.cli.demo import DEMO_DIR, cmd_demo

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise CLIError(f"{message} (see `{self.prog} --help`)")


# --------------------------------------------------------------------- arguments


def _number(convert, name, rule, ok):
    """An argparse type: ``convert(text)`` (int or float), kept if ``ok``; else
    ``NAME must be RULE, got 'TEXT'``."""

    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            v = None
        if v is None or not ok(v):
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text!r}")
        return v

    return parse


def _positive_int(name):
    return _number(int, name, "a positive integer", lambda v: v >= 1)


_ROWS = _number(int, "--rows", "a non-negative integer", lambda v: v >= 0)
_TOL = _number(float, "--tol", "positive", lambda v: v > 0 and math.isfinite(v))
_L1_RATIO = _number(float, "--l1-ratio", "a number in [0, 1]", lambda v: 0 <= v <= 1)
_EPS = _number(float, "--eps", "in (0, 1]", lambda v: 0 < v <= 1)
_SELECT = _number(float, "--select", "a positive alpha", lambda v: v > 0)


def _debug_arg(default) -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the full traceback on errors",
    )
    return p


def _common() -> argparse.ArgumentParser:
    # --debug is also accepted after the subcommand; SUPPRESS keeps the subparser
    # from resetting a --debug given before it.
    p = _Parser(add_help=False, parents=[_debug_arg(argparse.SUPPRESS)])
    g = p.add_argument_group("compute")
    g.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default=None,
        help="where to compute (default: JAX's default device)",
    )
    g.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="precision of the solve (default float64)",
    )
    return p


def _data_args(p):
    g = p.add_argument_group("input")
    g.add_argument(
        "data",
        help="CSV/TSV with a header ('-' = stdin), .npy, .npz, "
        ".parquet or a folder of them (needs pyarrow)",
    )
    g.add_argument(
        "--target",
        metavar="NAME",
        help="response column (name; an index for .npy); not for .npz",
    )
    g.add_argument(
        "--features",
        metavar="A,B,...",
        help="feature columns to use (default: all other columns)",
    )
    g.add_argument(
        "--sample-weight", metavar="NAME", help="column of non-negative sample weights"
    )
    g.add_argument(
        "--chunk-rows",
        type=_positive_int("--chunk-rows"),
        metavar="N",
        default=None,
        help="stream the file in chunks of N rows into sufficient statistics "
        "(automatic for .npy, Parquet and CSV files above 1 GiB and Parquet "
        "folders); memory then stays O(features² + chunk)",
    )


def _model_args(p, *, l1_default, grid=True):
    g = p.add_argument_group("model")
    if l1_default is not None:
        g.add_argument(
            "--l1-ratio",
            type=_L1_RATIO,
            default=l1_default,
            help=f"1 = lasso, (0, 1) = elastic net (default {l1_default:g})",
        )
    g.add_argument(
        "--alphas",
        metavar="N|a,b,c",
        help="grid size, or the alphas themselves (comma-separated)",
    )
    if grid:
        g.add_argument(
            "--eps",
            type=_EPS,
            default=1e-3,
            help="smallest alpha as a fraction of alpha_max (default 1e-3)",
        )
        g.add_argument(
            "--tol",
            type=_TOL,
            default=1e-4,
            help="duality-gap tolerance, relative to ||y - mean||^2/n (the null "
            "deviance/n for a GLM family; default 1e-4)",
        )
        g.add_argument(
            "--max-iter",
            type=_positive_int("--max-iter"),
            default=None,
            help="most iterations per alpha",
        )
        g.add_argument(
            "--positive",
            action="store_true",
            help="constrain the coefficients to be non-negative",
        )
    if grid:
        g.add_argument(
            "--family",
            choices=("gaussian", "binomial", "poisson"),
            default="gaussian",
            help="GLM family: gaussian (least squares, default), binomial "
            "(logistic; a 0/1 target) or poisson (counts)",
        )
    g.add_argument(
        "--standardize",
        action="store_true",
        help="scale columns to unit variance inside the solver "
        "(coefficients stay on the original scale)",
    )
    g.add_argument("--no-intercept", action="store_true", help="fit no intercept")


def _output_args(p, plot_help):
    g = p.add_argument_group("output")
    g.add_argument(
        "--json", action="store_true", help="print the full result as JSON on stdout"
    )
    g.add_argument(
        "--out-coefs",
        metavar="FILE.csv",
        help="write the coefficient path (one row per alpha) as CSV",
    )
    g.add_argument("--plot", metavar="FILE.png", help=plot_help)
    g.add_argument(
        "--force", action="store_true", help="overwrite existing output files"
    )
    g.add_argument(
        "--rows",
        type=_ROWS,
        default=20,
        help="rows of the summary table (0 = every alpha; default 20)",
    )


# ------------------------------------------------------------------- subcommands


def _add_model_command(
    sub, common, name, *, func, plot_help, l1_default, grid=True, options=None, **texts
):
    """A subcommand that fits a model to a data file: input, model, its own
    ``options(parser)``, output."""
    p = sub.add_parser(name, parents=[common], **texts)
    _data_args(p)
    _model_args(p, l1_default=l1_default, grid=grid)
    if options is not None:
        options(p)
    _output_args(p, plot_help)
    p.set_defaults(func=func)


def _path_options(p):
    p.add_argument(
        "--select",
        type=_SELECT,
        metavar="ALPHA",
        default=None,
        help="show the coefficients at the grid alpha nearest to ALPHA "
        "(default: the smallest alpha)",
    )


def _cv_options(p):
    g = p.add_argument_group("cross-validation")
    g.add_argument(
        "--cv",
        type=_positive_int("--cv"),
        default=5,
        metavar="K",
        help="number of folds (default 5; contiguous folds as scikit-learn's KFold)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=None,
        help="shuffle samples into folds with this seed",
    )
    g.add_argument(
        "--select",
        choices=("min", "1se"),
        default="min",
        help="which alpha's coefficients to show (default min)",
    )
    g.add_argument(
        "--scoring",
        choices=("deviance", "mse", "misclassification", "auc"),
        default=None,
        help="held-out measure (default: mse for gaussian, deviance otherwise; "
        "misclassification and auc for binomial)",
    )


def _add_models(sub, common):
    """``path``, ``cv`` and ``ridge``."""
    _add_model_command(
        sub,
        common,
        "path",
        func=cmd_path,
        plot_help="plot the coefficient paths against log alpha (needs matplotlib)",
        l1_default=1.0,
        options=_path_options,
        help="lasso / elastic-net path",
        description="Lasso or elastic-net regularization path.",
    )
    _add_model_command(
        sub,
        common,
        "cv",
        func=cmd_cv,
        plot_help="plot the CV curve with error bars (needs matplotlib)",
        l1_default=1.0,
        options=_cv_options,
        help="cross-validated path",
        description="K-fold cross-validation along the path: alpha_min and alpha_1se.",
    )
    _add_model_command(
        sub,
        common,
        "ridge",
        func=cmd_ridge,
        plot_help="plot the leave-one-out curve (needs matplotlib)",
        l1_default=None,
        grid=False,
        help="ridge path and LOO curve",
        description="Closed-form ridge path and its exact leave-one-out error curve.",
    )


def _add_bench(sub):
    p = sub.add_parser(
        "bench",
        parents=[_debug_arg(argparse.SUPPRESS)],
        help="run the benchmarks (from a source checkout)",
        description="Run the benchmark harness of a jaxreg source "
        "checkout; the arguments are passed on to "
        "`python -m benchmarks run` (e.g. --preset smoke "
        "--devices cpu --out DIR; `jaxreg bench run "
        "--help` shows them all). `jaxreg bench report "
        "DIR` rebuilds a report.",
    )
    p.set_defaults(func=cmd_bench)


def _add_demo(sub, common):
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="lasso, CV and ridge on the diabetes data, with plots",
        description="Lasso path, 5-fold CV and the ridge leave-one-out "
        "curve on the embedded diabetes data; the plots go "
        "to ./jaxreg-demo/.",
    )
    p.add_argument(
        "--out",
        default=DEMO_DIR,
        metavar="DIR",
        help=f"folder for the plots (default ./{DEMO_DIR})",
    )
    p.add_argument(
        "--geometry",
        action="store_true",
        help="also draw geometry.png (the lasso and ridge constraint "
        "regions against the loss contours)",
    )
    p.add_argument("--no-plots", action="store_true", help="print the summary only")
    p.add_argument("--force", action="store_true", help="overwrite existing plots")
    p.add_argument(
        "--rows",
        type=_ROWS,
        default=20,
        help="rows of the summary tables (0 = every alpha; default 20)",
    )
    p.add_argument(
        "--tol", type=_TOL, default=1e-4, help="duality-gap tolerance (default 1e-4)"
    )
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The ``jaxreg`` parser with its five subcommands."""
    from jaxreg import __version__

    common = _common()
    parser = _Parser(
        prog=PROG,
        description="Lasso, elastic-net and ridge regularization paths with JAX: every "
        "alpha at once, each certified by its duality gap.",
        epilog="Try `jaxreg demo`. Each command has its own --help.",
        parents=[_debug_arg(False)],
    )
    parser.add_argument("--version", action="version", version=f"jaxreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_models(sub, common)
    _add_bench(sub)
    _add_demo(sub, common)
    return parser


# -------------------------------------------------------------------------- main


def _split_bench(argv):
    """``jaxreg bench ARGS``: ARGS belong to the benchmark harness, not to us."""
    i = next((i for i, t in enumerate(argv) if not t.startswith("-")), None)
    if (
        i is not None
        and argv[i] == "bench"
        and argv[i + 1 : i + 2] not in (["-h"], ["--help"])
    ):
        return argv[: i + 1], argv[i + 1 :]
    return argv, []


def _parse(argv):
    """``(args, rest)``, or the exit status of ``--help`` / ``--version``."""
    argv, rest = _split_bench(argv)
    try:
        return build_parser().parse_args(argv), rest
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)


def _dispatch(args, rest) -> int:
    if getattr(args, "device", None) == "cpu" and "jax" not in sys.modules:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if args.command == "bench":
        return cmd_bench(args, rest)
    return args.func(args)


def main(argv=None) -> int:
    """Run the ``jaxreg`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a user mistake (one line on stderr,
        no traceback unless ``--debug``), 1 for an internal error (or, for
        ``demo``, a part that could not run), 130 when interrupted.

    Examples
    --------
    >>> from jaxreg.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    jaxreg 0.1.0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parsed = _parse(argv)
        if isinstance(parsed, int):
            return parsed
        args, rest = parsed
        debug = bool(getattr(args, "debug", False))
        return _dispatch(args, rest)
    except CLIError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # The API's own input checks: the message names the argument and the rule.
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`jaxreg ... | head`): stop quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug, not a user mistake
        if debug:
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun "
            "with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _one_line(exc) -> str:
    return " ".join(str(exc).split())
