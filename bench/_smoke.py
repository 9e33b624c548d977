"""`--smoke` for every bench: the same code path at a size that runs in seconds, so that
tests/test_bench_smoke.py notices a bench that no longer runs."""
import argparse


def parse_args(parser: argparse.ArgumentParser, smoke: dict) -> argparse.Namespace:
    """The parser's arguments; with --smoke, `smoke` ({dest: value}) replaces the defaults
    (options given on the command line still win)."""
    sizes = ", ".join(f"--{dest.replace('_', '-')} {value}" for dest, value in smoke.items())
    parser.add_argument("--smoke", action="store_true",
                        help=f"a run of seconds through the same code ({sizes}); its figures mean nothing")
    args = parser.parse_args()
    if args.smoke:
        parser.set_defaults(**smoke)
        args = parser.parse_args()
    return args
