"""`python -m deadlines` and the `deadlines` command (pyproject's entry point): the command
line of `cli.py`, imported with the cyclic garbage collector paused."""

import gc


def run() -> None:
    # Importing the command line (click, the rulebook model, the engine) makes objects that
    # all live until the process ends: the cyclic collector would go over them some twenty
    # times while they are made, and once more at exit, and free nothing. So the collector is
    # paused while they are made, then they are frozen (`gc.freeze`: no later collection looks
    # at them, the one at exit included): about 10 ms of a one-off command's 60
    # (bench/startup.py). The collector is on again before the command runs, so a long one
    # (serve, build) collects what it makes as usual.
    gc.disable()
    try:
        from .cli import main
    finally:
        gc.freeze()
        gc.enable()
    main()


if __name__ == "__main__":
    run()
